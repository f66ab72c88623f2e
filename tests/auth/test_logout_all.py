"""`POST /auth/logout-all`: every device signed out at once, the caller's own included."""

import httpx

from tests.conftest import PASSWORD, SignedInUser, UserFactory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(client: httpx.AsyncClient, user: SignedInUser) -> dict[str, str]:
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


async def test_logout_all_answers_204_with_no_body(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post("/auth/logout-all", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""


async def test_logout_all_refuses_every_access_token_at_once(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    other_device = await sign_in(client, user)
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200  # cached

    await client.post("/auth/logout-all", headers=user.headers)

    for token in (user.access_token, other_device["access_token"]):
        assert (await client.get("/users/me", headers=bearer(token))).status_code == 401
        assert (await client.get("/auth/sessions", headers=bearer(token))).status_code == 401


async def test_logout_all_revokes_every_refresh_token(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    other_device = await sign_in(client, user)

    await client.post("/auth/logout-all", headers=user.headers)

    for token in (user.refresh_token, other_device["refresh_token"]):
        refreshed = await client.post("/auth/refresh", json={"refresh_token": token})
        assert refreshed.status_code == 401
        assert refreshed.json()["code"] == "invalid_refresh_token"


async def test_a_sign_in_after_logout_all_works(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post("/auth/logout-all", headers=user.headers)

    tokens = await sign_in(client, user)
    sessions = await client.get("/auth/sessions", headers=bearer(tokens["access_token"]))
    assert sessions.status_code == 200
    assert sessions.json()["total"] == 1
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200


async def test_logout_all_leaves_other_users_signed_in(
    client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
) -> None:
    other = await make_user()

    await client.post("/auth/logout-all", headers=user.headers)

    assert (await client.get("/users/me", headers=other.headers)).status_code == 200
    refreshed = await client.post("/auth/refresh", json={"refresh_token": other.refresh_token})
    assert refreshed.status_code == 200


async def test_logout_all_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout-all")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_logout_all_with_a_token_it_already_ended_is_401(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post("/auth/logout-all", headers=user.headers)
    again = await client.post("/auth/logout-all", headers=user.headers)
    assert again.status_code == 401
