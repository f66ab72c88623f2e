"""Real PostgreSQL for every test, the schema built by Alembic once, HTTP through ASGI.

Each test owns its data: every table is truncated before it runs, so tests pass in
any order and twice in a row. (A rolled-back outer transaction would not do here:
the concurrency tests need real, separately committed transactions.)
"""

import asyncio
import os
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice import embedded_db, security
from backoffice.cli import alembic_config
from backoffice.db import apply_statement_timeout
from backoffice.main import create_app
from backoffice.settings import Settings
from tests.mail_server import Mailbox, SmtpServer
from tests.redis_server import RedisServer, redis_on_free_port

pytest_plugins = ["tests.factories"]

PASSWORD = "correct horse battery"
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
MAIL_SETTINGS: dict[str, Any] = {
    "email_backend": "smtp",
    "smtp_host": "127.0.0.1",
    "smtp_tls": "none",
    "smtp_timeout_seconds": 5,
    "mail_sweep_seconds": 3600,  # tests run the sweep themselves
    "email_from": "backoffice <no-reply@backoffice.test>",
    "password_reset_url": "https://app.example.com/reset?token={token}",
    "email_verify_url": "https://app.example.com/verify?token={token}",
}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """`TEST_DATABASE_URL` when given, else a throw-away embedded PostgreSQL.

    Its directory comes from `mkdtemp`, not pytest's numbered temp dirs, which a
    concurrent pytest run may prune while this one still uses them.
    """
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield Settings(database_url=given).async_database_url
        return
    url, server = embedded_db.start(
        Path(tempfile.mkdtemp(prefix="backoffice-test-pg-")) / "data", throwaway=True
    )
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    """The database as `backoffice migrate` leaves it: the schema, and the role's default
    statement timeout (the suite's `Settings` keep the default `DB_STATEMENT_TIMEOUT_MS`)."""
    command.upgrade(alembic_config(database_url), "head")
    asyncio.run(apply_statement_timeout(Settings(database_url=database_url)))
    return database_url


@pytest.fixture(scope="session")
def settings(migrated_url: str, smtp_server: SmtpServer) -> Settings:
    return Settings(
        app_env="test",
        database_url=migrated_url,
        jwt_secret=TEST_SECRET,
        bcrypt_rounds=4,
        bcrypt_threads=4,  # race tests hold one hash slot while another request hashes
        log_json=False,
        notification_sweep_seconds=3600,
        rate_limit_enabled=False,  # the suite sends many requests from one client
        **MAIL_SETTINGS,
        smtp_port=smtp_server.port,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A separate engine for the tests' own checks of what the service stored."""
    eng = create_async_engine(settings.async_database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
async def clean_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        names = (
            await conn.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ).all()
        await conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield c


@dataclass
class SignedInUser:
    id: int
    email: str
    password: str
    access_token: str
    refresh_token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


UserFactory = Callable[..., Awaitable[SignedInUser]]


@pytest.fixture
def make_user(client: httpx.AsyncClient, engine: AsyncEngine) -> UserFactory:
    """Register and sign in through the API; `role="admin"` promotes in the database."""
    counter = iter(range(1, 10_000))

    async def factory(
        email: str | None = None, password: str = PASSWORD, role: str = "user"
    ) -> SignedInUser:
        email = email or f"user{next(counter)}@example.com"
        created = await client.post(
            "/auth/register", json={"email": email, "password": password, "full_name": "Test User"}
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        if role != "user":
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE users SET role = :role WHERE id = :id"),
                    {"role": role, "id": user_id},
                )
        tokens = await client.post("/auth/login", json={"email": email, "password": password})
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        return SignedInUser(user_id, email, password, body["access_token"], body["refresh_token"])

    return factory


@pytest.fixture
async def user(make_user: UserFactory) -> SignedInUser:
    return await make_user()


@pytest.fixture
async def admin(make_user: UserFactory) -> SignedInUser:
    return await make_user(role="admin")


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free port for the whole run; the test app sends to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = SmtpServer(port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Iterator[Mailbox]:
    """The mails the SMTP server received during this test (it starts empty, the server
    up and accepting; whatever a test changed is undone after it)."""
    smtp_server.recorder.received.clear()
    smtp_server.start()
    yield Mailbox(smtp_server)
    smtp_server.recorder.refuse_recipients_with = None
    smtp_server.start()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real `redis-server` for the session."""
    with redis_on_free_port() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    assert redis_server.command(b"FLUSHALL") == b"+OK\r\n"
    return redis_server.url


@pytest.fixture
def held_check(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """(entered, release): the next bcrypt check starts (`entered`), then waits in its
    thread for `release`; later checks run as usual."""
    entered, release = threading.Event(), threading.Event()
    real_verify = security._verify_sync

    def held_verify(password: str, hashed: str) -> bool:
        if not entered.is_set():
            entered.set()
            release.wait(30)
        return real_verify(password, hashed)

    monkeypatch.setattr(security, "_verify_sync", held_verify)
    return entered, release
