"""bcrypt runs in a worker thread: the event loop keeps serving while a hash is computed."""

import asyncio
import threading
import time

import bcrypt
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice import security
from backoffice.security import PasswordHasher, hash_rounds
from backoffice.settings import Settings
from tests.conftest import PASSWORD, SignedInUser


async def test_health_answers_while_a_cost_12_login_runs(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET hashed_password = :h WHERE id = :id"),
            {"h": slow_hash, "id": user.id},
        )
    hashing = threading.Event()
    real_verify = security._verify_sync

    def signalling_verify(password: str, hashed: str) -> bool:
        hashing.set()
        return real_verify(password, hashed)

    monkeypatch.setattr(security, "_verify_sync", signalling_verify)
    finished: list[str] = []

    async def login() -> None:
        response = await client.post(
            "/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        assert response.status_code == 200
        finished.append("login")

    async def live() -> None:
        assert await asyncio.to_thread(hashing.wait, 30)  # bcrypt is running now
        started = time.perf_counter()
        response = await client.get("http://test/health/live")
        assert response.status_code == 200
        finished.append(f"live:{time.perf_counter() - started:.3f}")

    await asyncio.gather(login(), live())
    assert finished[0].startswith("live"), finished
    assert finished[-1] == "login"


async def test_a_hash_of_another_cost_is_rehashed_at_login(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser, settings: Settings
) -> None:
    old = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(5)).decode()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET hashed_password = :h WHERE id = :id"), {"h": old, "id": user.id}
        )
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT hashed_password FROM users WHERE id = :id"), {"id": user.id}
        )
    assert hash_rounds(stored) == settings.bcrypt_rounds
    assert await PasswordHasher.of(settings).verify(PASSWORD, stored)


async def test_verify_treats_an_overlong_password_as_wrong(settings: Settings) -> None:
    hasher = PasswordHasher.of(settings)
    assert not await hasher.verify("x" * 100, await hasher.hash(PASSWORD))
