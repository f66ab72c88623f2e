import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def test_parallel_guesses_cannot_slip_past_the_throttle(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/auth/login", json={"email": user.email, "password": "wrong-pass"})
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 15


async def test_failures_for_unknown_emails_are_throttled_too(client: httpx.AsyncClient) -> None:
    await fail_five_times(client, "ghost@example.com")
    response = await client.post(
        "/auth/login", json={"email": "ghost@example.com", "password": "wrong-pass"}
    )
    assert response.status_code == 429


async def test_expired_attempts_are_pruned(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await fail_five_times(client, "old@example.com")
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE login_attempts SET attempted_at = now() - interval '1 day'")
        )
    await client.post("/auth/login", json={"email": user.email, "password": "wrong-pass"})
    async with engine.connect() as conn:
        emails = (await conn.scalars(text("SELECT email FROM login_attempts"))).all()
    assert emails == [user.email]


async def guess_current_password(
    client: httpx.AsyncClient, user: SignedInUser, guess: str
) -> httpx.Response:
    return await client.post(
        "/users/me/password",
        json={"current_password": guess, "new_password": "a brand new password"},
        headers=user.headers,
    )


async def test_wrong_current_passwords_are_throttled_the_right_one_too(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    for _ in range(5):
        assert (await guess_current_password(client, user, "wrong-pass")).status_code == 400
    response = await guess_current_password(client, user, PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 900


async def test_wrong_current_passwords_count_toward_the_sign_in_throttle(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    for _ in range(5):
        await guess_current_password(client, user, "wrong-pass")
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
