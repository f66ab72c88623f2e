"""A database outage or a stuck query is a 503 with `Retry-After`, never a crash or a 500."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.db import apply_statement_timeout
from backoffice.main import create_app
from backoffice.settings import Settings
from tests.conftest import SignedInUser


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_database_down_is_503_with_retry_after(
    settings: Settings, user: SignedInUser
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql://nobody@127.0.0.1:9/none", "db_connect_timeout": 1}
    )
    async with client_for(down) as client:
        me = await client.get("/api/v1/users/me", headers=user.headers)
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert me.status_code == 503
    assert me.json()["code"] == "service_unavailable"
    assert int(me.headers["Retry-After"]) > 0
    assert ready.status_code == 503
    assert live.status_code == 200


async def test_statement_timeout_is_503(
    settings: Settings, engine: AsyncEngine, user: SignedInUser
) -> None:
    """The timeout is the role's default (what `backoffice migrate` sets), not a start-up
    parameter; it is restored at once so that later sessions keep the usual value."""
    # The driver's own timeout is far away: only the server's statement timeout can
    # answer before the test gives up.
    impatient = settings.model_copy(
        update={"db_statement_timeout_ms": 300, "db_command_timeout": 120}
    )
    await apply_statement_timeout(impatient)
    try:
        async with client_for(impatient) as client, engine.connect() as blocker:
            await blocker.execute(
                text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user.id}
            )
            async with asyncio.timeout(60):
                response = await client.patch(
                    "/api/v1/users/me", json={"full_name": "Blocked"}, headers=user.headers
                )
            await blocker.rollback()
    finally:
        await apply_statement_timeout(settings)
    assert response.status_code == 503
    assert "Retry-After" in response.headers


async def test_pool_exhaustion_is_503(settings: Settings, user: SignedInUser) -> None:
    tiny = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.2}
    )
    async with client_for(tiny) as client:
        app_engine: AsyncEngine = client._transport.app.state.engine  # type: ignore[attr-defined]
        async with app_engine.connect() as held:
            await held.execute(text("SELECT 1"))
            response = await client.get("/api/v1/users/me", headers=user.headers)
    assert response.status_code == 503


async def test_read_after_connections_were_killed_is_served(
    settings: Settings, engine: AsyncEngine, user: SignedInUser
) -> None:
    """No pre-ping: a pooled connection that died is replaced and the first read retried."""
    async with client_for(settings) as client:
        app_engine: AsyncEngine = client._transport.app.state.engine  # type: ignore[attr-defined]
        pids: list[int] = []
        event.listen(
            app_engine.sync_engine,
            "connect",
            lambda dbapi_connection, _: pids.append(
                dbapi_connection.driver_connection.get_server_pid()
            ),
        )
        await app_engine.dispose()
        warm = await client.get("/api/v1/users/me", headers=user.headers)
        async with engine.connect() as admin:
            await admin.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                {"pids": pids},
            )
        after = await client.get("/api/v1/users/me", headers=user.headers)
    assert warm.status_code == 200
    assert pids
    assert after.status_code == 200, after.text
