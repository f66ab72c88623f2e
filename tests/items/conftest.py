"""Factories for catalogue items, created through the API."""

from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import httpx
import pytest

from tests.conftest import SignedInUser
from tests.files.factories import make_file

__all__ = ["make_file", "make_item"]

ItemFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_item(client: httpx.AsyncClient) -> ItemFactory:
    """`await make_item(owner, price="3.50", ...)` -> the 201 body; names are unique."""
    numbers = count(1)

    async def factory(owner: SignedInUser, **fields: Any) -> dict[str, Any]:
        body = {"name": f"Item {next(numbers)}", "price": "10.00", **fields}
        response = await client.post("/items", json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return factory
