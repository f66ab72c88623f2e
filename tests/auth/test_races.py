"""A password checked outside a transaction counts only if it is still the stored one."""

import asyncio
import threading

import httpx

from tests.conftest import PASSWORD, SignedInUser

NEW_PASSWORD = "a changed password"


async def test_a_login_in_flight_during_a_password_change_is_refused(
    client: httpx.AsyncClient,
    user: SignedInUser,
    held_check: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = held_check
    login = asyncio.create_task(
        client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    )
    assert await asyncio.to_thread(entered.wait, 30)
    changed = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )
    release.set()
    assert changed.status_code == 204
    assert (await login).status_code == 401

    old = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    new = await client.post("/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_a_login_in_flight_when_the_user_is_deactivated_is_refused(
    client: httpx.AsyncClient,
    user: SignedInUser,
    admin: SignedInUser,
    held_check: tuple[threading.Event, threading.Event],
) -> None:
    entered, release = held_check
    login = asyncio.create_task(
        client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    )
    assert await asyncio.to_thread(entered.wait, 30)
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    release.set()
    assert (await login).status_code == 401
