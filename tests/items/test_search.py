"""`GET /items`: every filter alone and combined, every sort both ways, and the page."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import ItemFactory


async def names(client: httpx.AsyncClient, user: SignedInUser, **params: Any) -> list[str]:
    response = await client.get("/items", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.fixture
async def catalogue(make_user: UserFactory, make_item: ItemFactory) -> dict[str, SignedInUser]:
    """Five items of two owners, two categories and four prices."""
    ann, bob = await make_user(), await make_user()
    await make_item(ann, name="Red Chair", category="furniture", price="40.00")
    await make_item(ann, name="Blue Lamp", category="lighting", price="15.50", description="LED")
    await make_item(bob, name="green table", category="furniture", price="120.00")
    await make_item(bob, name="Desk lamp", category="lighting", price="15.50")
    await make_item(bob, name="Poster", price="5.00", description="A red sunset")
    return {"ann": ann, "bob": bob}


async def test_without_filters_everything_newest_first(
    client: httpx.AsyncClient, catalogue: dict[str, SignedInUser]
) -> None:
    got = await names(client, catalogue["ann"])
    assert got == ["Poster", "Desk lamp", "green table", "Blue Lamp", "Red Chair"]


async def test_q_matches_name_or_description_ignoring_case(
    client: httpx.AsyncClient, catalogue: dict[str, SignedInUser]
) -> None:
    assert await names(client, catalogue["ann"], q="RED", sort="name", order="asc") == [
        "Poster",
        "Red Chair",
    ]
    assert await names(client, catalogue["ann"], q="lamp", sort="name", order="asc") == [
        "Blue Lamp",
        "Desk lamp",
    ]
    assert await names(client, catalogue["ann"], q="led") == ["Blue Lamp"]
    assert await names(client, catalogue["ann"], q="nothing like it") == []


async def test_q_treats_percent_underscore_and_backslash_literally(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    for name in [
        "100% cotton",
        "100 cotton",
        "snake_case",
        "snakeXcase",
        "back\\slash",
        "backslash",
    ]:
        await make_item(user, name=name)
    assert await names(client, user, q="%") == ["100% cotton"]
    assert await names(client, user, q="0%") == ["100% cotton"]
    assert await names(client, user, q="e_c") == ["snake_case"]
    assert await names(client, user, q="_") == ["snake_case"]
    assert await names(client, user, q="\\") == ["back\\slash"]


async def test_nul_in_q_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.get("/items", params={"q": "a\x00b"}, headers=user.headers)
    assert response.status_code == 422


async def test_category_filter(
    client: httpx.AsyncClient, catalogue: dict[str, SignedInUser]
) -> None:
    got = await names(client, catalogue["ann"], category="furniture", sort="name", order="asc")
    assert got == ["green table", "Red Chair"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"min_price": "15.5"}, ["Blue Lamp", "Desk lamp", "Red Chair", "green table"]),
        ({"max_price": 15.5}, ["Poster", "Blue Lamp", "Desk lamp"]),
        ({"min_price": "15.50", "max_price": "40"}, ["Blue Lamp", "Desk lamp", "Red Chair"]),
        ({"min_price": "15.5", "max_price": "15.5"}, ["Blue Lamp", "Desk lamp"]),
        ({"min_price": 0}, ["Poster", "Blue Lamp", "Desk lamp", "Red Chair", "green table"]),
    ],
)
async def test_price_range(
    client: httpx.AsyncClient,
    catalogue: dict[str, SignedInUser],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    got = await names(client, catalogue["ann"], sort="price", order="asc", **params)
    assert got == expected


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "50", "max_price": "10"},
        {"min_price": "-1"},
        {"max_price": "-0.01"},
        {"max_price": "1.234"},
        {"min_price": "1e309"},
        {"min_price": "cheap"},
        {"sort": "owner_id"},
        {"sort": "price; DROP TABLE items"},
        {"order": "up"},
        {"owner": "someone"},
        {"colour": "red"},
        {"limit": 0},
        {"limit": 101},
        {"skip": -1},
        {"q": ""},
        {"q": "x" * 201},
    ],
)
async def test_invalid_query_is_422(
    client: httpx.AsyncClient, user: SignedInUser, params: dict[str, Any]
) -> None:
    response = await client.get("/items", params=params, headers=user.headers)
    assert response.status_code == 422, params
    assert response.json()["code"] == "validation_error"


async def test_owner_me(client: httpx.AsyncClient, catalogue: dict[str, SignedInUser]) -> None:
    got = await names(client, catalogue["ann"], owner="me", sort="name", order="asc")
    assert got == ["Blue Lamp", "Red Chair"]


async def test_filters_combine(
    client: httpx.AsyncClient, catalogue: dict[str, SignedInUser]
) -> None:
    bob = catalogue["bob"]
    assert await names(client, bob, q="lamp", category="lighting", max_price=20, owner="me") == [
        "Desk lamp"
    ]
    assert await names(client, bob, q="a", category="furniture", min_price=100) == ["green table"]
    assert await names(client, bob, category="lighting", min_price=16) == []


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        ("name", ["Blue Lamp", "Desk lamp", "green table", "Poster", "Red Chair"]),
        ("price", ["Poster", "Blue Lamp", "Desk lamp", "Red Chair", "green table"]),
        ("created_at", ["Red Chair", "Blue Lamp", "green table", "Desk lamp", "Poster"]),
    ],
)
async def test_each_sort_in_both_orders(
    client: httpx.AsyncClient,
    catalogue: dict[str, SignedInUser],
    sort: str,
    ascending: list[str],
) -> None:
    user = catalogue["ann"]
    assert await names(client, user, sort=sort, order="asc") == ascending
    assert await names(client, user, sort=sort, order="desc") == ascending[::-1]


@pytest.mark.parametrize("sort", ["price", "created_at"])
async def test_equal_keys_are_ordered_by_id(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_item: ItemFactory,
    engine: AsyncEngine,
    sort: str,
) -> None:
    ids = [(await make_item(user, price="7.00"))["id"] for _ in range(6)]
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE items SET created_at = '2026-01-01T00:00:00Z'"))
    for order, expected in (("asc", ids), ("desc", ids[::-1])):
        seen: list[int] = []
        for skip in range(0, 6, 2):
            response = await client.get(
                "/items",
                params={"sort": sort, "order": order, "skip": skip, "limit": 2},
                headers=user.headers,
            )
            seen += [item["id"] for item in response.json()["items"]]
        assert seen == expected


async def test_page_envelope_and_total(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    for n in range(7):
        await make_item(user, name=f"Thing {n}", category="even" if n % 2 == 0 else "odd")
    response = await client.get(
        "/items",
        params={"skip": 2, "limit": 3, "sort": "name", "order": "asc"},
        headers=user.headers,
    )
    body = response.json()
    assert (body["total"], body["skip"], body["limit"]) == (7, 2, 3)
    assert [item["name"] for item in body["items"]] == ["Thing 2", "Thing 3", "Thing 4"]

    filtered = await client.get(
        "/items", params={"category": "even", "limit": 1}, headers=user.headers
    )
    assert filtered.json()["total"] == 4
    assert len(filtered.json()["items"]) == 1

    beyond = await client.get("/items", params={"skip": 50}, headers=user.headers)
    assert beyond.json()["items"] == []
    assert beyond.json()["total"] == 7


async def test_default_page_size_is_20(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    for _ in range(21):
        await make_item(user)
    body = (await client.get("/items", headers=user.headers)).json()
    assert (len(body["items"]), body["total"], body["limit"]) == (20, 21, 20)
