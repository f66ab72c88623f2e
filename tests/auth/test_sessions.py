import httpx
import pytest

from tests.conftest import PASSWORD, SignedInUser


async def test_sessions_list_one_entry_per_sign_in(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post(
        "/auth/login", json={"email": user.email, "password": PASSWORD, "device": "Pixel 9"}
    )
    response = await client.get("/auth/sessions", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert {s["device"] for s in body["items"]} >= {"Pixel 9"}


async def test_device_defaults_to_the_user_agent(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post(
        "/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": "BackofficeApp/1.0 (iOS)"},
    )
    devices = [
        s["device"]
        for s in (await client.get("/auth/sessions", headers=user.headers)).json()["items"]
    ]
    assert "BackofficeApp/1.0 (iOS)" in devices


async def test_rotation_keeps_one_session(client: httpx.AsyncClient, user: SignedInUser) -> None:
    await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    body = (await client.get("/auth/sessions", headers=user.headers)).json()
    assert body["total"] == 1


async def test_revoking_a_session_signs_that_device_out(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    session_id = (await client.get("/auth/sessions", headers=user.headers)).json()["items"][0]["id"]
    response = await client.delete(f"/auth/sessions/{session_id}", headers=user.headers)
    assert response.status_code == 204
    refreshed = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 401
    assert (await client.get("/auth/sessions", headers=user.headers)).json()["total"] == 0


async def test_another_users_session_is_404(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    session_id = (await client.get("/auth/sessions", headers=user.headers)).json()["items"][0]["id"]
    response = await client.delete(f"/auth/sessions/{session_id}", headers=admin.headers)
    assert response.status_code == 404
    refreshed = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 200


@pytest.mark.parametrize("session_id", [0, 2**31, 2**63])
async def test_revoking_a_session_id_out_of_range_is_422_not_500(
    client: httpx.AsyncClient, user: SignedInUser, session_id: int
) -> None:
    response = await client.delete(f"/auth/sessions/{session_id}", headers=user.headers)
    assert response.status_code == 422
