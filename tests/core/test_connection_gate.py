"""Requests wait for the connection pool in arrival order, and never longer than its timeout."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.main import create_app
from backoffice.settings import Settings
from tests.auth.test_hash_queue import hash_slots_taken
from tests.conftest import PASSWORD, SignedInUser


@asynccontextmanager
async def one_connection_app(
    settings: Settings, wait: float
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": wait}
    )
    app = create_app(tiny)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


@asynccontextmanager
async def slot_held(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> AsyncIterator[None]:
    """The app's only connection, taken by a PATCH that waits on a row lock held here."""
    async with engine.connect() as blocker:
        await blocker.execute(
            text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user.id}
        )
        patch = asyncio.create_task(
            client.patch("/api/v1/users/me", json={"full_name": "Held"}, headers=user.headers)
        )
        await asyncio.sleep(0.3)
        try:
            yield
        finally:
            await blocker.rollback()
            assert (await patch).status_code == 200


async def test_requests_waiting_for_the_pool_are_served_in_arrival_order(
    settings: Settings, engine: AsyncEngine, user: SignedInUser
) -> None:
    """Also when newcomers keep arriving: none of them overtakes a request already waiting."""
    finished: list[int] = []

    async def read(n: int) -> None:
        response = await client.get("/api/v1/users/me", headers=user.headers)
        assert response.status_code == 200
        finished.append(n)

    async with one_connection_app(settings, wait=30) as (_, client):
        readers = []
        async with slot_held(client, engine, user):
            for n in range(5):
                readers.append(asyncio.create_task(read(n)))
                await asyncio.sleep(0.05)
        for n in range(5, 20):
            readers.append(asyncio.create_task(read(n)))
            await asyncio.sleep(0.002)
        async with asyncio.timeout(30):
            await asyncio.gather(*readers)
    assert finished == list(range(20))


async def test_a_sign_in_waiting_for_bcrypt_leaves_the_pool_to_other_requests(
    settings: Settings, user: SignedInUser
) -> None:
    """It commits before bcrypt, which ends its transaction's turn at the gate
    (`db.GatedSession`): a read beside it is served at once."""
    body = {"email": user.email, "password": PASSWORD}
    async with one_connection_app(settings, wait=0.5) as (app, client):
        async with hash_slots_taken(app, queue_seconds=5):
            login = asyncio.create_task(client.post("/api/v1/auth/login", json=body))
            await asyncio.sleep(0.3)
            read = await client.get("/api/v1/users/me", headers=user.headers)
            assert not login.done()
        assert read.status_code == 200
        async with asyncio.timeout(10):
            assert (await login).status_code == 200


async def test_a_request_that_finds_no_free_connection_in_time_is_503_with_retry_after(
    settings: Settings, engine: AsyncEngine, user: SignedInUser
) -> None:
    async with (
        one_connection_app(settings, wait=0.3) as (_, client),
        slot_held(client, engine, user),
        asyncio.timeout(10),
    ):
        response = await client.get("/api/v1/users/me", headers=user.headers)
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
