"""A commit that fails reaches the client as an error, never after a 2xx."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from tests.conftest import PASSWORD, SignedInUser

DOOMED_NAME = "fails-at-commit"


@pytest.fixture
async def commit_fails_for_doomed_rows(engine: AsyncEngine) -> AsyncIterator[None]:
    """A deferred constraint trigger: the INSERT succeeds, the COMMIT raises."""
    statements = [
        """CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation'; END $$""",
        f"""CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON users
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           WHEN (NEW.full_name = '{DOOMED_NAME}') EXECUTE FUNCTION fail_at_commit()""",
    ]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER fail_at_commit ON users"))
        await conn.execute(text("DROP FUNCTION fail_at_commit()"))


@pytest.mark.usefixtures("commit_fails_for_doomed_rows")
async def test_failing_commit_is_never_a_2xx(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "doomed@example.com", "password": PASSWORD, "full_name": DOOMED_NAME},
    )
    assert response.status_code == 500
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM users"))
    assert count == 0


async def test_the_connection_is_back_in_the_pool_before_the_body_is_sent(
    app: FastAPI, user: SignedInUser
) -> None:
    """A slow client downloading a response must not hold a pooled connection."""
    checked_out_while_sending: list[int] = []

    async def recording_app(scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: Message) -> None:
            if message["type"] == "http.response.body":
                checked_out_while_sending.append(app.state.engine.pool.checkedout())
            await send(message)

        await app(scope, receive, spy)

    transport = httpx.ASGITransport(app=recording_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        response = await c.get("/users/me", headers=user.headers)
    assert response.status_code == 200
    assert checked_out_while_sending == [0]
