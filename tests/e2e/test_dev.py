"""`backoffice dev` (what `make run` runs) as a real process, reload on."""

import os
import signal
import subprocess
import sys

import httpx

from backoffice.settings import Settings
from tests.e2e.conftest import free_port, wait_until_live


def test_dev_with_reload_logs_the_url_and_the_workers_requests(settings: Settings) -> None:
    """The reloader's worker is a fresh interpreter: it must configure logging itself."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "JWT_SECRET": settings.jwt_secret,
        "PORT": str(port),
        "LOG_JSON": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "backoffice", "dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(base_url, process, timeout=90)
        httpx.get(f"{base_url}/api/v1/users/me", headers={"User-Agent": "dev-test"}, timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)

    assert f"backoffice running on {base_url}" in output
    assert "INFO backoffice.access 127.0.0.1 GET /api/v1/users/me 401" in output
    assert "Traceback" not in output
    assert process.returncode == 0
