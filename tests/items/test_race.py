import asyncio
from collections import Counter

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import UserFactory


async def test_concurrent_creates_of_one_name_give_one_201_and_the_rest_409(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    users = [await make_user() for _ in range(4)]

    async def create(n: int) -> int:
        body = {"name": "Limited Edition" if n % 2 else "limited edition", "price": "1.00"}
        response = await client.post("/items", json=body, headers=users[n % 4].headers)
        return response.status_code

    statuses = Counter(await asyncio.gather(*(create(n) for n in range(16))))
    assert statuses == {201: 1, 409: 15}
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM items")) == 1
