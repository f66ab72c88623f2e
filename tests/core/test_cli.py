"""The `backoffice` command, run in-process: dev, serve, migrate and create-admin."""

import asyncio
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backoffice import cli
from backoffice.cli import DrainingServer
from backoffice.main import create_app
from backoffice.settings import Settings, get_settings
from tests.e2e.conftest import free_port

ADMIN_PASSWORD = "admin password 1"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[dict[str, str]]:
    """The test database and fast hashing in the environment the CLI reads; logging as it was.

    Returns the environment so a test can change it; settings are read again afterwards.
    """
    env = {
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "JWT_SECRET": settings.jwt_secret,
        "BCRYPT_ROUNDS": "4",
        "PORT": str(free_port()),
        "DRAIN_SECONDS": "0",
        "LOG_JSON": "false",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()
    root.handlers[:] = handlers
    root.setLevel(level)


def run(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`backoffice ARGV` with this environment (it runs its own event loops)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    cli.main(argv)


@pytest.fixture
def serving(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[list[str], dict[str, str]], str]]:
    """Run a serving command in a thread until the server answers; its base URL.

    The server the CLI builds is recorded so the test can stop it afterwards.
    """
    servers: list[DrainingServer] = []
    threads: list[threading.Thread] = []
    original = DrainingServer.__init__

    def record(self: DrainingServer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        servers.append(self)

    monkeypatch.setattr(DrainingServer, "__init__", record)

    def start(argv: list[str], env: dict[str, str]) -> str:
        thread = threading.Thread(target=run, args=(argv, env, monkeypatch), daemon=True)
        thread.start()
        threads.append(thread)
        base_url = f"http://127.0.0.1:{env['PORT']}"
        for _ in range(600):
            try:
                if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                    return base_url
            except httpx.TransportError:
                thread.join(timeout=0.1)
            if not thread.is_alive():
                break
        raise RuntimeError("the server did not start")

    yield start
    for server in servers:
        server.should_exit = True
    for thread in threads:
        thread.join(timeout=30)


def test_serve_logs_the_url_and_one_json_access_line_with_client_and_user_agent(
    environment: dict[str, str],
    serving: Callable[[list[str], dict[str, str]], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url = serving(["serve"], {**environment, "LOG_JSON": "true"})

    httpx.get(
        f"{base_url}/api/v1/users/me",
        headers={"X-Request-ID": "cli-serve-1", "User-Agent": "cli-test/1.0"},
        timeout=5,
    )

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(f"running on {base_url}" in r["message"] for r in records)
    [access] = [r for r in records if r.get("request_id") == "cli-serve-1"]
    assert (access["route"], access["status"]) == ("/api/v1/users/me", 401)
    assert (access["client"], access["user_agent"]) == ("127.0.0.1", "cli-test/1.0")
    assert not any("color_message" in r for r in records)


def test_dev_migrates_then_logs_readable_lines_for_the_url_and_each_request(
    environment: dict[str, str],
    serving: Callable[[list[str], dict[str, str]], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_url = serving(["dev", "--no-reload"], environment)

    httpx.get(f"{base_url}/api/v1/items", headers={"User-Agent": "cli-test/2.0"}, timeout=5)

    out = capsys.readouterr().out
    assert "INFO alembic.runtime.migration" in out  # alembic did not silence the root logger
    assert f"INFO backoffice.cli backoffice running on {base_url} " in out
    assert "INFO backoffice.access 127.0.0.1 GET /api/v1/items 401" in out
    assert "{" not in out


async def test_create_admin_makes_a_working_admin(
    client: httpx.AsyncClient, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**environment, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    await asyncio.to_thread(run, ["create-admin", "--email", "root@example.com"], env, monkeypatch)

    tokens = await client.post(
        "/auth/login", json={"email": "root@example.com", "password": ADMIN_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert (await client.get("/users/me", headers=headers)).json()["role"] == "admin"
    assert (await client.get("/users", headers=headers)).status_code == 200


def test_create_admin_twice_fails_clearly(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**environment, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    run(["create-admin", "--email", "twice@example.com"], env, monkeypatch)
    with pytest.raises(SystemExit, match=r"twice@example\.com is already registered"):
        run(["create-admin", "--email", "twice@example.com"], env, monkeypatch)


def test_create_admin_refuses_a_short_password_without_pydantic_prefix(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**environment, "ADMIN_PASSWORD": "short"}
    with pytest.raises(SystemExit) as refused:
        run(["create-admin", "--email", "short@example.com"], env, monkeypatch)
    assert str(refused.value) == "backoffice: password must be at least 8 bytes"


async def test_an_empty_admin_password_means_prompt(
    client: httpx.AsyncClient, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return ADMIN_PASSWORD

    monkeypatch.setattr("getpass.getpass", answer)
    await asyncio.to_thread(
        run,
        ["create-admin", "--email", "asked@example.com"],
        {**environment, "ADMIN_PASSWORD": ""},
        monkeypatch,
    )

    assert prompts == ["Password: ", "Repeat password: "]
    login = {"email": "asked@example.com", "password": ADMIN_PASSWORD}
    assert (await client.post("/auth/login", json=login)).status_code == 200


async def test_migrate_and_create_admin_find_the_embedded_database_without_database_url(
    environment: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "DEV_PGDATA", Path(tempfile.mkdtemp(prefix="cli-pg-")) / "data")
    env = {**environment, "DATABASE_URL": "", "APP_ENV": "dev", "ADMIN_PASSWORD": ADMIN_PASSWORD}

    await asyncio.to_thread(run, ["migrate"], env, monkeypatch)
    await asyncio.to_thread(
        run, ["create-admin", "--email", "embedded@example.com"], env, monkeypatch
    )

    embedded = settings.model_copy(update={"database_url": os.environ["DATABASE_URL"]})
    assert embedded.database_url.endswith(f"?host={cli.DEV_PGDATA}")
    app = create_app(embedded)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            login = {"email": "embedded@example.com", "password": ADMIN_PASSWORD}
            assert (await c.post("/auth/login", json=login)).status_code == 200


def test_create_admin_without_a_password_or_a_terminal_fails_clearly(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_input)
    with pytest.raises(SystemExit, match="set ADMIN_PASSWORD"):
        run(["create-admin", "--email", "nobody@example.com"], environment, monkeypatch)


def test_version_and_help_describe_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("backoffice 0.")
    with pytest.raises(SystemExit):
        cli.main(["create-admin", "--help"])
    assert "ADMIN_PASSWORD" in capsys.readouterr().out
