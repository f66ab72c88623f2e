"""Factories for accounts and employees, through the API (shared by their tests)."""

import itertools
from typing import Any

import httpx

from tests.conftest import SignedInUser

_counter = itertools.count(1)


async def create_account(
    client: httpx.AsyncClient, owner: SignedInUser, name: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"name": name or f"Account {next(_counter)}", **fields}
    response = await client.post("/accounts", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def add_employee(
    client: httpx.AsyncClient, owner: SignedInUser, account_id: int, **fields: Any
) -> dict[str, Any]:
    n = next(_counter)
    body = {"full_name": f"Employee {n}", "email": f"employee{n}@example.com", **fields}
    response = await client.post(
        f"/accounts/{account_id}/employees", json=body, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
