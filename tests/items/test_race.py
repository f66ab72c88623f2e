import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import ItemFactory
from tests.items.races import commit_while_blocked


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


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_changing_an_item_deleted_at_the_same_moment_is_404(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_item: ItemFactory,
    engine: AsyncEngine,
    method: str,
) -> None:
    item = await make_item(user)

    response = await commit_while_blocked(
        engine,
        "DELETE FROM items WHERE id = :id",
        {"id": item["id"]},
        client.request(
            method,
            f"/items/{item['id']}",
            json={"name": "Renamed", "price": "10.00"},
            headers=user.headers,
        ),
    )

    assert response.status_code == 404
    assert response.json()["code"] == "item_not_found"


async def test_a_put_racing_another_edit_still_replaces_every_field(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory, engine: AsyncEngine
) -> None:
    """The PUT reads the row only once the other edit committed, so its `price` (equal to
    the old one) is written too, instead of being skipped as "unchanged" and lost."""
    item = await make_item(user, price="10.00")

    response = await commit_while_blocked(
        engine,
        "UPDATE items SET price = 99 WHERE id = :id",
        {"id": item["id"]},
        client.put(
            f"/items/{item['id']}",
            json={"name": "Replaced", "price": "10.00"},
            headers=user.headers,
        ),
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["price"]) == ("Replaced", "10.00")
    stored = await client.get(f"/items/{item['id']}", headers=user.headers)
    assert stored.json() == response.json()


async def test_a_patch_racing_another_edit_answers_the_row_as_stored(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory, engine: AsyncEngine
) -> None:
    item = await make_item(user, price="10.00")

    response = await commit_while_blocked(
        engine,
        "UPDATE items SET price = 99 WHERE id = :id",
        {"id": item["id"]},
        client.patch(f"/items/{item['id']}", json={"name": "Renamed"}, headers=user.headers),
    )

    assert response.status_code == 200
    stored = await client.get(f"/items/{item['id']}", headers=user.headers)
    assert stored.json() == response.json()
    assert (stored.json()["name"], stored.json()["price"]) == ("Renamed", "99.00")
