"""A create that passed its caller check just before the caller's deletion committed:
the insert breaks the owner's foreign key, and the request is refused as any deleted
user's is (401), with nothing of it stored."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.employees.repository import EmployeeRepository, EmployeeRow
from backoffice.users.repository import UserRepository
from tests.conftest import SignedInUser
from tests.factories import AccountFactory
from tests.files.samples import count_rows, upload


async def owned_rows(engine: AsyncEngine, table: str, user_id: int) -> int:
    async with engine.connect() as conn:
        sql = f"SELECT count(*) FROM {table} WHERE owner_id = :id"
        return int(await conn.scalar(text(sql), {"id": user_id}) or 0)


def refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"


async def test_an_item_created_by_a_user_deleted_after_the_caller_check_is_401(
    client: httpx.AsyncClient, engine: AsyncEngine, deleted_after_check: SignedInUser
) -> None:
    user = deleted_after_check
    body: dict[str, Any] = {"name": "Late", "price": "1.00"}
    refused(await client.post("/items", json=body, headers=user.headers))
    assert await owned_rows(engine, "items", user.id) == 0


async def test_an_account_created_by_a_user_deleted_after_the_caller_check_is_401(
    client: httpx.AsyncClient, engine: AsyncEngine, deleted_after_check: SignedInUser
) -> None:
    user = deleted_after_check
    refused(await client.post("/accounts", json={"name": "Late"}, headers=user.headers))
    assert await owned_rows(engine, "accounts", user.id) == 0


async def test_a_file_uploaded_by_a_user_deleted_after_the_caller_check_is_401(
    client: httpx.AsyncClient, engine: AsyncEngine, deleted_after_check: SignedInUser
) -> None:
    refused(await upload(client, deleted_after_check))
    assert await count_rows(engine) == (0, 0)


async def test_an_employee_added_by_a_user_deleted_after_the_account_check_is_401(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    make_account: AccountFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The account went with its owner between its check and the insert: the caller is
    refused, not told the account was not found (404)."""
    account = await make_account(user)
    real_add = EmployeeRepository.add

    async def deleted_then_added(self: EmployeeRepository, *args: Any) -> EmployeeRow:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        return await real_add(self, *args)

    monkeypatch.setattr(EmployeeRepository, "add", deleted_then_added)
    body = {"full_name": "Late", "email": "late@example.com"}
    path = f"/accounts/{account['id']}/employees"
    refused(await client.post(path, json=body, headers=user.headers))
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM employees")) == 0


async def test_a_reset_asked_while_the_account_is_deleted_is_the_same_202(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deletion starts right after `forgot` found the account: it waits for the
    reset link's row, then takes it along (it broke the link's insert, a 500 that told
    the address had an account)."""
    real_lookup = UserRepository.active_id
    deletions: list[asyncio.Task[None]] = []

    async def delete() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})

    async def found_then_deleted(self: UserRepository, email: str) -> int | None:
        found = await real_lookup(self, email)
        deletions.append(asyncio.create_task(delete()))
        await asyncio.sleep(0.3)  # the deletion runs, or waits for this transaction
        return found

    monkeypatch.setattr(UserRepository, "active_id", found_then_deleted)
    response = await client.post("/auth/password/forgot", json={"email": user.email})
    await asyncio.gather(*deletions)
    assert response.status_code == 202
    async with engine.connect() as conn:
        users = await conn.scalar(
            text("SELECT count(*) FROM users WHERE id = :id"), {"id": user.id}
        )
        links = await conn.scalar(
            text("SELECT count(*) FROM one_time_tokens WHERE user_id = :id"), {"id": user.id}
        )
    assert (users, links) == (0, 0)
