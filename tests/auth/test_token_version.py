"""Access tokens die at once when the user's token version moves on."""

import httpx
import pytest

from tests.conftest import PASSWORD, SignedInUser, UserFactory

NEW_PASSWORD = "a brand new password"


async def me(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_a_password_change_refuses_every_earlier_access_token_at_once(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    other_device = await client.post(
        "/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    changed = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert changed.status_code == 204
    assert await me(client, user.access_token) == 401
    assert await me(client, other_device.json()["access_token"]) == 401


async def test_a_sign_in_after_a_password_change_gets_a_working_token(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    tokens = await client.post("/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    assert await me(client, tokens.json()["access_token"]) == 200


async def test_a_reactivated_user_keeps_no_token_from_before_the_deactivation(
    client: httpx.AsyncClient, reactivated_user: SignedInUser
) -> None:
    assert await me(client, reactivated_user.access_token) == 401


async def test_a_demoted_admin_loses_admin_access_at_once(
    client: httpx.AsyncClient, make_user: UserFactory, admin: SignedInUser
) -> None:
    other = await make_user(role="admin")
    demoted = await client.patch(f"/users/{other.id}", json={"role": "user"}, headers=admin.headers)
    assert demoted.status_code == 200
    assert (await client.get("/users", headers=other.headers)).status_code == 401


async def test_a_refresh_after_a_role_change_issues_a_working_token(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    await client.patch(f"/users/{user.id}", json={"role": "admin"}, headers=admin.headers)
    pair = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert pair.status_code == 200
    token = pair.json()["access_token"]
    listed = await client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


async def test_a_name_change_by_an_admin_leaves_tokens_working(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    await client.patch(f"/users/{user.id}", json={"is_active": True}, headers=admin.headers)
    assert await me(client, user.access_token) == 200


@pytest.mark.parametrize(
    "path",
    [
        "/items/{item_id}",
        "/items",  # a page of rows, each carrying the check
        "/items?skip=10",  # an empty page past the first: the check asked with the count
    ],
)
async def test_a_password_change_refuses_earlier_tokens_on_catalogue_reads(
    client: httpx.AsyncClient, user: SignedInUser, path: str
) -> None:
    """The catalogue's reads carry the caller check in their own statement: same rule."""
    item = {"name": "Kept lamp", "category": "home", "price": "5"}
    created = await client.post("/items", json=item, headers=user.headers)
    assert created.status_code == 201
    changed = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    assert changed.status_code == 204
    read = await client.get(path.format(item_id=created.json()["id"]), headers=user.headers)
    assert read.status_code == 401
