"""Security events notify the user concerned, delivered after the response."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PASSWORD, SignedInUser


async def notifications_of(engine: AsyncEngine, user_id: int) -> list[tuple[str, bool]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT kind, delivered_at IS NOT NULL FROM notifications "
                "WHERE user_id = :id ORDER BY id"
            ),
            {"id": user_id},
        )
        return [(row[0], row[1]) for row in rows]


async def test_password_change_notifies_the_user(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another password"},
        headers=user.headers,
    )
    assert await notifications_of(engine, user.id) == [("password_changed", True)]


async def test_refresh_token_reuse_notifies_the_user(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert await notifications_of(engine, user.id) == [("refresh_token_reused", True)]


async def test_a_failed_password_change_notifies_nobody(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await client.post(
        "/users/me/password",
        json={"current_password": "wrong one", "new_password": "another password"},
        headers=user.headers,
    )
    assert await notifications_of(engine, user.id) == []
