"""Signing up and in over real HTTP, for the deployment tests."""

import uuid
from dataclasses import dataclass

import httpx

from tests.conftest import PASSWORD


@dataclass
class Member:
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(base_url: str, email: str | None = None) -> Member:
    """Register and log in (both on `base_url`)."""
    email = email or unique_email()
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as client:
        created = client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "full_name": "E2E"}
        )
        assert created.status_code == 201, created.text
        return log_in(base_url, email)


def log_in(base_url: str, email: str) -> Member:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Member(email, body["access_token"], body["refresh_token"])
