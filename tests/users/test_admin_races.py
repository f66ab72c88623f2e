"""Admins changing each other at the same moment: never a service without an admin."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import UserFactory
from tests.items.races import commit_while_all_blocked


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    first, second = await make_user(role="admin"), await make_user(role="admin")

    responses = await commit_while_all_blocked(
        engine,
        "SELECT 1 FROM users WHERE id IN (:first, :second) FOR UPDATE",
        {"first": first.id, "second": second.id},
        client.patch(f"/users/{second.id}", json={"role": "user"}, headers=first.headers),
        client.patch(f"/users/{first.id}", json={"role": "user"}, headers=second.headers),
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    async with engine.connect() as conn:
        admins = await conn.scalar(text("SELECT count(*) FROM users WHERE role = 'admin'"))
    assert admins == 1


async def test_two_admins_deactivating_each_other_at_once_leave_one_active_admin(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    first, second = await make_user(role="admin"), await make_user(role="admin")

    responses = await commit_while_all_blocked(
        engine,
        "SELECT 1 FROM users WHERE id IN (:first, :second) FOR UPDATE",
        {"first": first.id, "second": second.id},
        client.patch(f"/users/{second.id}", json={"is_active": False}, headers=first.headers),
        client.patch(f"/users/{first.id}", json={"is_active": False}, headers=second.headers),
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    async with engine.connect() as conn:
        admins = await conn.scalar(
            text("SELECT count(*) FROM users WHERE role = 'admin' AND is_active")
        )
    assert admins == 1
