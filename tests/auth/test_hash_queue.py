"""A sign-in waits a bounded time for a bcrypt slot, then is told to come back."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from backoffice.main import create_app
from backoffice.security import PasswordHasher
from backoffice.settings import Settings
from tests.conftest import PASSWORD, SignedInUser


@asynccontextmanager
async def hash_slots_taken(app: FastAPI, queue_seconds: float = 0.05) -> AsyncIterator[None]:
    """Every bcrypt slot of the app taken (as by a login storm), and a short queue."""
    hasher: PasswordHasher = app.state.password_hasher
    limiter, configured = hasher.limiter, hasher.queue_seconds
    hasher.queue_seconds = queue_seconds
    holders = [object() for _ in range(int(limiter.total_tokens))]
    for holder in holders:
        await limiter.acquire_on_behalf_of(holder)
    try:
        yield
    finally:
        hasher.queue_seconds = configured
        for holder in holders:
            limiter.release_on_behalf_of(holder)


@pytest.fixture
async def busy_hashing(app: FastAPI) -> AsyncIterator[None]:
    async with hash_slots_taken(app):
        yield


async def test_login_behind_a_full_bcrypt_queue_is_503_busy_with_retry_after(
    client: httpx.AsyncClient, user: SignedInUser, busy_hashing: None
) -> None:
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 503
    assert response.json()["code"] == "busy"
    assert int(response.headers["Retry-After"]) >= 1


async def test_login_after_the_storm_succeeds(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200


def test_sign_ins_hash_on_every_core_but_one_by_default() -> None:
    """bcrypt releases the GIL: one core stays free for the reads during a login storm."""
    threads = Settings(app_env="test").bcrypt_threads
    assert threads == max(1, (os.cpu_count() or 1) - 1)


async def test_sign_ins_refused_as_busy_do_not_count_toward_the_throttle(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, app: FastAPI
) -> None:
    body = {"email": user.email, "password": PASSWORD}
    async with hash_slots_taken(app):
        for _ in range(settings.login_max_failures + 1):
            assert (await client.post("/auth/login", json=body)).status_code == 503
    assert (await client.post("/auth/login", json=body)).status_code == 200


async def test_an_app_with_other_bcrypt_settings_leaves_this_apps_hash_slots_alone(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    """Each app hashes behind its own limiter (`app.state.password_hasher`): another one
    started in the process, and a storm on it, do not resize or fill this one's."""
    other = create_app(settings.model_copy(update={"bcrypt_threads": 1}))
    body = {"email": user.email, "password": PASSWORD}
    async with other.router.lifespan_context(other), hash_slots_taken(other):
        response = await client.post("/auth/login", json=body)
    assert response.status_code == 200
