"""Real `backoffice serve` processes on loopback."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import httpx
import pytest

from backoffice.settings import Settings
from tests.e2e.stack import Stack, find_binary

Server = tuple[subprocess.Popen[str], str]


def unavailable(reason: str) -> NoReturn:
    """A real part the test needs is missing: skipped, saying why, on a developer's
    machine; failed where `E2E_REQUIRED` is set (CI, whose `make test` installs every
    part first), so CI never passes with a part untested."""
    if os.environ.get("E2E_REQUIRED"):
        pytest.fail(f"E2E_REQUIRED is set: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_live(base_url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError("server did not start")


def serve(
    settings: Settings, port: int, env: Mapping[str, str], **popen: Any
) -> subprocess.Popen[str]:
    """`python -m backoffice serve` on `port`, against the suite's database, with `env` added.

    Its mails go to the suite's SMTP server, as the in-process app's do: the console
    backend would write each whole mail to a pipe nobody reads during the test, and a
    full pipe blocks the server's logging, and so its event loop.
    """
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "JWT_SECRET": settings.jwt_secret,
        "BCRYPT_ROUNDS": "4",
        "EMAIL_BACKEND": settings.email_backend,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_TLS": settings.smtp_tls,
        "EMAIL_FROM": settings.email_from,
        "PORT": str(port),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "backoffice", "serve"], env=environment, text=True, **popen
    )


@contextlib.contextmanager
def served(settings: Settings, **env: str) -> Iterator[str]:
    """One quiet server for a whole module (a start costs seconds on a loaded machine)."""
    port = free_port()
    process = serve(settings, port, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(base_url, process, timeout=120)
        yield base_url
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def start_server(settings: Settings) -> Iterator[Callable[..., Server]]:
    """Start `python -m backoffice serve` with extra environment; stopped after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> Server:
        port = free_port()
        process = serve(
            settings,
            port,
            {"LOG_JSON": "true", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(base_url, process)
        return process, base_url

    yield start
    for process in started:
        # The whole session: with several workers, killing the supervisor alone would
        # leave its workers running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """PostgreSQL, PgBouncer, nginx and two replicas; skipped, saying why, without them.

    `make test` installs nginx-light and pgbouncer (`.ci/install-e2e-deps`) as root or
    with sudo; where neither is possible the deployment tests cannot run, and are
    skipped on a developer's machine. CI sets `E2E_REQUIRED`: there a missing install
    fails the run instead of passing it with the deployment untested.
    """
    missing = [name for name in ("nginx", "pgbouncer") if find_binary(name) is None]
    if missing:
        reason = (
            f"{' and '.join(missing)} not installed, and .ci/install-e2e-deps could not "
            "install them (it needs apt-get, and root or password-less sudo)"
        )
        unavailable(reason)
    deployment = Stack()
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
