import httpx
import pytest

from tests.conftest import SignedInUser, UserFactory


async def test_patch_me_changes_the_name(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.patch("/users/me", json={"full_name": "Renamed"}, headers=user.headers)
    assert response.status_code == 200
    assert response.json()["full_name"] == "Renamed"
    assert (await client.get("/users/me", headers=user.headers)).json()["full_name"] == "Renamed"


async def test_patch_me_cannot_set_role(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.patch("/users/me", json={"role": "admin"}, headers=user.headers)
    assert response.status_code == 422


async def test_user_on_admin_routes_is_403(client: httpx.AsyncClient, user: SignedInUser) -> None:
    listed = await client.get("/users", headers=user.headers)
    patched = await client.patch(f"/users/{user.id}", json={"role": "admin"}, headers=user.headers)
    assert listed.status_code == patched.status_code == 403
    assert listed.json()["code"] == "admin_required"


async def test_admin_lists_users_with_the_page_envelope(
    client: httpx.AsyncClient, admin: SignedInUser, make_user: UserFactory
) -> None:
    for _ in range(3):
        await make_user()
    response = await client.get("/users", params={"limit": 2, "skip": 1}, headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4
    assert (body["skip"], body["limit"], len(body["items"])) == (1, 2, 2)


async def test_admin_searches_users(
    client: httpx.AsyncClient, admin: SignedInUser, make_user: UserFactory
) -> None:
    await make_user(email="findme_100%@example.com")
    response = await client.get("/users", params={"q": "_100%"}, headers=admin.headers)
    assert [u["email"] for u in response.json()["items"]] == ["findme_100%@example.com"]


async def test_admin_promotes_a_user(
    client: httpx.AsyncClient, admin: SignedInUser, user: SignedInUser
) -> None:
    response = await client.patch(
        f"/users/{user.id}", json={"role": "admin"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    pair = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    token = pair.json()["access_token"]
    listed = await client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


async def test_admin_patching_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    response = await client.patch("/users/999999", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 404


async def test_admin_cannot_deactivate_themself(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    response = await client.patch(
        f"/users/{admin.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 409


async def test_limit_out_of_bounds_is_422(client: httpx.AsyncClient, admin: SignedInUser) -> None:
    for limit in (0, 101):
        response = await client.get("/users", params={"limit": limit}, headers=admin.headers)
        assert response.status_code == 422


@pytest.mark.parametrize("user_id", [0, 2**31, 74222260710])
async def test_patch_user_with_an_id_out_of_range_is_422_not_500(
    client: httpx.AsyncClient, admin: SignedInUser, user_id: int
) -> None:
    response = await client.patch(f"/users/{user_id}", json={"role": "user"}, headers=admin.headers)
    assert response.status_code == 422
