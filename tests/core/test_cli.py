"""`backoffice create-admin` makes an admin who can sign in and use admin routes."""

import os
import subprocess
import sys

import httpx

from backoffice.settings import Settings


def create_admin(settings: Settings, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ADMIN_PASSWORD": password,
        "BCRYPT_ROUNDS": "4",
        "LOG_JSON": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "backoffice", "create-admin", "--email", email],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_admin_makes_a_working_admin(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    result = create_admin(settings, "root@example.com", "admin password 1")
    assert result.returncode == 0, result.stderr
    tokens = await client.post(
        "/auth/login", json={"email": "root@example.com", "password": "admin password 1"}
    )
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = await client.get("/users/me", headers=headers)
    assert me.json()["role"] == "admin"
    assert (await client.get("/users", headers=headers)).status_code == 200


def test_create_admin_twice_fails_clearly(settings: Settings) -> None:
    assert create_admin(settings, "twice@example.com", "admin password 1").returncode == 0
    again = create_admin(settings, "twice@example.com", "admin password 1")
    assert again.returncode != 0
    assert "already registered" in again.stderr


def test_create_admin_refuses_a_short_password(settings: Settings) -> None:
    result = create_admin(settings, "short@example.com", "short")
    assert result.returncode != 0
    assert "at least 8 bytes" in result.stderr
