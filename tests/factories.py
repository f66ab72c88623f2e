"""Factories for the tests' data, one shape for all: a fixture returning an async function.

`await make_<thing>(owner, ..., **fields)` creates the thing through the API as `owner`,
asserts the 201 and returns its body; unnamed things get unique names. The user factory,
`make_user`, lives in `tests/conftest.py` with the `user` and `admin` fixtures it feeds.
"""

from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import httpx
import pytest

from tests.conftest import SignedInUser
from tests.files.samples import upload

Created = dict[str, Any]
AccountFactory = Callable[..., Awaitable[Created]]
EmployeeFactory = Callable[..., Awaitable[Created]]
UploadFactory = Callable[..., Awaitable[Created]]
ItemFactory = Callable[..., Awaitable[Created]]


def created(response: httpx.Response) -> Created:
    assert response.status_code == 201, response.text
    body: Created = response.json()
    return body


@pytest.fixture
def make_account(client: httpx.AsyncClient) -> AccountFactory:
    """`await make_account(owner, "Acme", description=...)`."""
    numbers = count(1)

    async def factory(owner: SignedInUser, name: str | None = None, **fields: Any) -> Created:
        body = {"name": name or f"Account {next(numbers)}", **fields}
        return created(await client.post("/accounts", json=body, headers=owner.headers))

    return factory


@pytest.fixture
def make_employee(client: httpx.AsyncClient) -> EmployeeFactory:
    """`await make_employee(owner, account_id, full_name=..., email=...)`."""
    numbers = count(1)

    async def factory(owner: SignedInUser, account_id: int, **fields: Any) -> Created:
        n = next(numbers)
        body = {"full_name": f"Employee {n}", "email": f"employee{n}@example.com", **fields}
        path = f"/accounts/{account_id}/employees"
        return created(await client.post(path, json=body, headers=owner.headers))

    return factory


@pytest.fixture
def make_file(client: httpx.AsyncClient) -> UploadFactory:
    """`await make_file(owner, content=..., filename=..., content_type=...)`."""

    async def factory(owner: SignedInUser, **kwargs: Any) -> Created:
        return created(await upload(client, owner, **kwargs))

    return factory


@pytest.fixture
def make_item(client: httpx.AsyncClient) -> ItemFactory:
    """`await make_item(owner, price="3.50", ...)`."""
    numbers = count(1)

    async def factory(owner: SignedInUser, **fields: Any) -> Created:
        body = {"name": f"Item {next(numbers)}", "price": "10.00", **fields}
        return created(await client.post("/items", json=body, headers=owner.headers))

    return factory
