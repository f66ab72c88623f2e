"""Admins changing each other at the same moment: never a service without an admin."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import UserFactory
from tests.items.races import commit_while_all_blocked

ACTIVE_ADMINS = "SELECT count(*) FROM users WHERE role = 'admin' AND is_active"


@pytest.mark.parametrize(
    "change", [{"role": "user"}, {"is_active": False}], ids=["demoting", "deactivating"]
)
async def test_two_admins_changing_each_other_at_once_leave_one_active_admin(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine, change: dict[str, Any]
) -> None:
    first, second = await make_user(role="admin"), await make_user(role="admin")

    responses = await commit_while_all_blocked(
        engine,
        "SELECT 1 FROM users WHERE id IN (:first, :second) FOR UPDATE",
        {"first": first.id, "second": second.id},
        client.patch(f"/users/{second.id}", json=change, headers=first.headers),
        client.patch(f"/users/{first.id}", json=change, headers=second.headers),
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    async with engine.connect() as conn:
        assert await conn.scalar(text(ACTIVE_ADMINS)) == 1
