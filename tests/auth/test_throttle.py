import httpx

from tests.conftest import PASSWORD, SignedInUser


async def fail_five_times(client: httpx.AsyncClient, email: str) -> None:
    for _ in range(5):
        response = await client.post("/auth/login", json={"email": email, "password": "wrong-pass"})
        assert response.status_code == 401


async def test_sixth_attempt_after_five_failures_is_429_with_retry_after(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await fail_five_times(client, user.email)
    response = await client.post(
        "/auth/login", json={"email": user.email, "password": "wrong-pass"}
    )
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 900


async def test_throttle_refuses_the_right_password_too(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await fail_five_times(client, user.email)
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429


async def test_spoofed_forwarded_for_does_not_reset_the_throttle(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await fail_five_times(client, user.email)
    response = await client.post(
        "/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 429


async def test_throttle_is_per_account(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    await fail_five_times(client, user.email)
    response = await client.post("/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 200


async def test_success_clears_earlier_failures(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    for _ in range(4):
        await client.post("/auth/login", json={"email": user.email, "password": "wrong-pass"})
    ok = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert ok.status_code == 200
    await fail_five_times(client, user.email)
