"""Fixtures shared by the auth tests."""

import httpx
import pytest

from tests.conftest import SignedInUser


@pytest.fixture
async def reactivated_user(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> SignedInUser:
    """`user`, deactivated and reactivated by an admin, still holding its tokens from before."""
    for active in (False, True):
        response = await client.patch(
            f"/users/{user.id}", json={"is_active": active}, headers=admin.headers
        )
        assert response.status_code == 200
    return user
