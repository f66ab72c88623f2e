"""`make bench`'s baseline: raw Starlette + asyncpg, the SELECT of `GET /api/v1/items/{id}`.

    BASELINE_DSN=postgresql://... uvicorn --app-dir bench baseline_app:app \
        --loop uvloop --http httptools --no-access-log
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SQL = (
    "SELECT id, name, description, category, price, tax, image_file_id, owner_id, "
    "created_at, updated_at FROM items WHERE id = $1"
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with asyncpg.create_pool(os.environ["BASELINE_DSN"], min_size=10, max_size=10) as pool:
        app.state.pool = pool
        yield


async def item(request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(SQL, request.path_params["item_id"])
    if row is None:
        return JSONResponse({"detail": "Item not found"}, status_code=404)
    return Response(json.dumps(dict(row), default=str), media_type="application/json")


async def live(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/items/{item_id:int}", item), Route("/health/live", live)], lifespan=lifespan
)
