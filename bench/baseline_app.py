"""`make bench`'s baseline: raw Starlette + asyncpg, the SQL of the service's hot reads.

    BASELINE_DSN=postgresql://... uvicorn --app-dir bench baseline_app:app \
        --loop uvloop --http httptools --no-access-log

- `/items/{id}`: the SELECT of `GET /api/v1/items/{id}`;
- `/users/{id}`: the SELECT of `GET /api/v1/users/me`;
- `/items?category=&min_price=`: the page (by price, newest id first on ties) and count
  queries of `GET /api/v1/items` with those filters.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ITEM_COLUMNS = (
    "id, name, description, category, price, tax, image_file_id, owner_id, created_at, updated_at"
)
ITEM = f"SELECT {ITEM_COLUMNS} FROM items WHERE id = $1"  # noqa: S608 (constant columns)
USER = (
    "SELECT id, email, full_name, role, is_active, created_at, updated_at FROM users WHERE id = $1"
)
FILTER = "FROM items WHERE category = $1 AND price >= $2"
PAGE = f"SELECT {ITEM_COLUMNS} {FILTER} ORDER BY price DESC, id DESC LIMIT $3"
COUNT = f"SELECT count(*) {FILTER}"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    async with asyncpg.create_pool(os.environ["BASELINE_DSN"], min_size=10, max_size=10) as pool:
        app.state.pool = pool
        yield


def as_json(value: object) -> Response:
    return Response(json.dumps(value, default=str), media_type="application/json")


async def row_by_id(request: Request, sql: str) -> Response:
    row = await request.app.state.pool.fetchrow(sql, request.path_params["id"])
    if row is None:
        return JSONResponse({"detail": "Not found"}, status_code=404)
    return as_json(dict(row))


async def item(request: Request) -> Response:
    return await row_by_id(request, ITEM)


async def user(request: Request) -> Response:
    return await row_by_id(request, USER)


async def items(request: Request) -> Response:
    category = request.query_params["category"]
    min_price = Decimal(request.query_params["min_price"])
    limit = int(request.query_params.get("limit", "20"))
    async with request.app.state.pool.acquire() as conn:
        total = await conn.fetchval(COUNT, category, min_price)
        rows = await conn.fetch(PAGE, category, min_price, limit)
    return as_json({"items": [dict(row) for row in rows], "total": total})


async def live(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/items/{id:int}", item),
        Route("/users/{id:int}", user),
        Route("/items", items),
        Route("/health/live", live),
    ],
    lifespan=lifespan,
)
