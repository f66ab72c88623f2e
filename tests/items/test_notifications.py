import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser


async def notifications_of(engine: AsyncEngine, user_id: int) -> list[tuple[str, dict[str, int]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT kind, data FROM notifications WHERE user_id = :id ORDER BY id"),
            {"id": user_id},
        )
        return [(row.kind, row.data) for row in rows]


async def test_creating_an_item_notifies_its_owner(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await client.post(
        "/items", json={"name": "Kettle", "price": 20}, headers=user.headers
    )
    assert response.status_code == 201
    assert await notifications_of(engine, user.id) == [
        ("item_created", {"item_id": response.json()["id"]})
    ]


async def test_a_refused_item_notifies_nobody(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    await client.post("/items", json={"name": "Kettle", "price": 20}, headers=user.headers)
    duplicate = await client.post(
        "/items", json={"name": "KETTLE", "price": 1}, headers=user.headers
    )
    assert duplicate.status_code == 409
    assert [kind for kind, _ in await notifications_of(engine, user.id)] == ["item_created"]
