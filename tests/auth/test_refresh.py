import asyncio

import httpx

from tests.conftest import PASSWORD, SignedInUser


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def test_refresh_returns_a_new_pair(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await refresh(client, user.refresh_token)
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != user.refresh_token
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await refresh(client, "not-a-token")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_refresh_reuse_revokes_the_whole_family(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    second = (await refresh(client, user.refresh_token)).json()["refresh_token"]
    third = (await refresh(client, second)).json()["refresh_token"]

    reused = await refresh(client, user.refresh_token)
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    assert (await refresh(client, third)).status_code == 401


async def test_reuse_leaves_other_sign_ins_alone(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    other = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    await refresh(client, user.refresh_token)
    await refresh(client, user.refresh_token)
    assert (await refresh(client, other.json()["refresh_token"])).status_code == 200


async def test_eight_concurrent_refreshes_give_exactly_one_200(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    responses = await asyncio.gather(*(refresh(client, user.refresh_token) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 7


async def test_logout_revokes_the_family(client: httpx.AsyncClient, user: SignedInUser) -> None:
    second = (await refresh(client, user.refresh_token)).json()["refresh_token"]
    response = await client.post("/auth/logout", json={"refresh_token": second})
    assert response.status_code == 204
    assert (await refresh(client, second)).status_code == 401


async def test_logout_with_an_unknown_token_is_204(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout", json={"refresh_token": "unknown"})
    assert response.status_code == 204


async def test_password_change_revokes_every_refresh_token(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        headers=user.headers,
    )
    assert response.status_code == 204
    assert (await refresh(client, user.refresh_token)).status_code == 401
    old = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/auth/login", json={"email": user.email, "password": "a brand new password"}
    )
    assert new.status_code == 200


async def test_password_change_with_wrong_current_password_is_400(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/users/me/password",
        json={"current_password": "not the one", "new_password": "a brand new password"},
        headers=user.headers,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_password"
    assert (await refresh(client, user.refresh_token)).status_code == 200


async def test_a_logged_out_token_is_plainly_invalid_not_reuse(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post("/auth/logout", json={"refresh_token": user.refresh_token})
    response = await refresh(client, user.refresh_token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_a_reactivated_user_keeps_no_refresh_token_from_before_the_deactivation(
    client: httpx.AsyncClient, reactivated_user: SignedInUser
) -> None:
    response = await refresh(client, reactivated_user.refresh_token)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
