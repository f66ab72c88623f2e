"""What the users tests share: a caller deleted right after a request's caller check."""

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.principal import Principal
from backoffice.security import AccessClaims
from backoffice.users.service import UserLookup
from tests.conftest import SignedInUser


def delete_after_next_check(
    monkeypatch: pytest.MonkeyPatch, engine: AsyncEngine, user: SignedInUser
) -> None:
    """Delete `user` (committed) right after their next request's caller check passed."""
    real_check = UserLookup.active_principal

    async def checked_then_deleted(self: UserLookup, claims: AccessClaims) -> Principal | None:
        principal = await real_check(self, claims)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        return principal

    monkeypatch.setattr(UserLookup, "active_principal", checked_then_deleted)


@pytest.fixture
def deleted_after_check(
    engine: AsyncEngine, user: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> SignedInUser:
    """`user`, deleted right after their next request's caller check passed."""
    delete_after_next_check(monkeypatch, engine, user)
    return user
