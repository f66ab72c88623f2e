"""Token responses and the caller's profile are never cached (RFC 6749 section 5.1)."""

import httpx

from tests.conftest import PASSWORD, SignedInUser


def assert_no_store(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"


async def test_json_login_is_no_store(client: httpx.AsyncClient, user: SignedInUser) -> None:
    assert_no_store(
        await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    )


async def test_password_form_login_is_no_store(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    assert_no_store(
        await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
    )


async def test_refresh_is_no_store(client: httpx.AsyncClient, user: SignedInUser) -> None:
    assert_no_store(await client.post("/auth/refresh", json={"refresh_token": user.refresh_token}))


async def test_the_profile_is_no_store(client: httpx.AsyncClient, user: SignedInUser) -> None:
    assert_no_store(await client.get("/users/me", headers=user.headers))
    assert_no_store(
        await client.patch("/users/me", json={"full_name": "Renamed"}, headers=user.headers)
    )
