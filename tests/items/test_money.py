from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser
from tests.factories import ItemFactory


@pytest.mark.parametrize("price", ["12.5", 12.5, "12.50"])
async def test_price_is_stored_with_two_decimals_and_read_as_a_string(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine, price: object
) -> None:
    response = await client.post(
        "/items", json={"name": "Mug", "price": price}, headers=user.headers
    )
    assert response.status_code == 201
    assert response.json()["price"] == "12.50"
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT price FROM items WHERE id = :id"), {"id": response.json()["id"]}
        )
    assert stored == Decimal("12.50")
    again = await client.get(f"/items/{response.json()['id']}", headers=user.headers)
    assert again.json()["price"] == "12.50"


@pytest.mark.parametrize(
    "price",
    [
        *("-1", -1, "1.234", 1.234, "1e309", "NaN", "Infinity", "10000000000.00", "abc", True),
        *("-0", "-0.00", "1.500", "00000000001"),
    ],
)
async def test_invalid_money_is_422(
    client: httpx.AsyncClient, user: SignedInUser, price: object
) -> None:
    response = await client.post(
        "/items", json={"name": "Mug", "price": price}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "price"]


async def test_a_json_number_too_big_for_a_float_is_422(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/items",
        content=b'{"name": "Mug", "price": 1e309}',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


async def test_negative_tax_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post(
        "/items", json={"name": "Mug", "price": 1, "tax": "-0.01"}, headers=user.headers
    )
    assert response.status_code == 422


async def test_price_with_tax_adds_the_tax_amount(
    make_item: ItemFactory, user: SignedInUser
) -> None:
    item = await make_item(user, price="19.99", tax="3.8")
    assert item["tax"] == "3.80"
    assert item["price_with_tax"] == "23.79"


async def test_the_largest_price_round_trips(make_item: ItemFactory, user: SignedInUser) -> None:
    item = await make_item(user, price="9999999999.99", tax="9999999999.99")
    assert item["price"] == "9999999999.99"
    assert item["price_with_tax"] == "19999999999.98"


async def test_zero_is_a_valid_price(make_item: ItemFactory, user: SignedInUser) -> None:
    item = await make_item(user, price=0)
    assert item["price"] == "0.00"


async def test_negative_zero_is_zero_not_minus_zero(
    make_item: ItemFactory, user: SignedInUser
) -> None:
    item = await make_item(user, price=-0.0, tax=-0.0)
    assert (item["price"], item["tax"], item["price_with_tax"]) == ("0.00", "0.00", "0.00")


@pytest.mark.parametrize("amount", ["1_000", "١٢", "1e2", "0x10", " 12.5.0"])
async def test_money_text_must_be_plain_ascii_decimal(
    client: httpx.AsyncClient, user: SignedInUser, amount: str
) -> None:
    response = await client.post(
        "/items", json={"name": f"odd {amount!r}", "price": amount}, headers=user.headers
    )
    assert response.status_code == 422


@pytest.mark.parametrize("price", ["12.50\n", " 12.50", "12.50 "], ids=["newline", "lead", "trail"])
async def test_a_price_with_surrounding_whitespace_is_422(
    client: httpx.AsyncClient, user: SignedInUser, price: str
) -> None:
    response = await client.post(
        "/items", json={"name": "Spaced", "price": price}, headers=user.headers
    )
    assert response.status_code == 422


async def test_a_json_number_too_small_for_a_float_is_422_not_zero(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/items",
        content=b'{"name": "Tiny", "price": 1e-400}',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "price"]


async def test_a_json_number_with_trailing_zeros_is_read_exactly(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/items",
        content=b'{"name": "Exact", "price": 12.500, "tax": 1E+1}',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert (response.json()["price"], response.json()["tax"]) == ("12.50", "10.00")
