"""What one replica did, the other one knows: every piece of state lives in PostgreSQL."""

import uuid

import httpx
import pytest

from tests.e2e.api import sign_up, unique_email
from tests.e2e.stack import Stack


@pytest.fixture
def api(stack: Stack) -> tuple[str, str]:
    stack.serve(through="pgbouncer")
    first, second = stack.replicas
    return f"{first.base_url}/api/v1", f"{second.base_url}/api/v1"


def test_token_from_one_replica_works_on_the_other(stack: Stack, api: tuple[str, str]) -> None:
    member = sign_up(stack.replicas[0].base_url)
    me = httpx.get(f"{api[1]}/users/me", headers=member.headers, timeout=30)
    assert me.status_code == 200
    assert me.json()["email"] == member.email


def test_refresh_reuse_on_another_replica_revokes_the_family(
    stack: Stack, api: tuple[str, str]
) -> None:
    member = sign_up(stack.replicas[0].base_url)
    rotated = httpx.post(
        f"{api[1]}/auth/refresh", json={"refresh_token": member.refresh_token}, timeout=30
    )
    reused = httpx.post(
        f"{api[0]}/auth/refresh", json={"refresh_token": member.refresh_token}, timeout=30
    )
    descendant = httpx.post(
        f"{api[1]}/auth/refresh",
        json={"refresh_token": rotated.json()["refresh_token"]},
        timeout=30,
    )
    assert rotated.status_code == 200
    assert reused.status_code == 401
    assert descendant.status_code == 401


def test_file_uploaded_to_one_replica_downloads_from_the_other(
    stack: Stack, api: tuple[str, str]
) -> None:
    member = sign_up(stack.replicas[0].base_url)
    content = f"hello from replica one {uuid.uuid4()}\n".encode()
    uploaded = httpx.post(
        f"{api[0]}/files",
        files={"file": ("note.txt", content, "text/plain")},
        headers=member.headers,
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    downloaded = httpx.get(
        f"{api[1]}/files/{uploaded.json()['id']}/content", headers=member.headers, timeout=30
    )
    assert downloaded.status_code == 200
    assert downloaded.content == content


def test_idempotency_key_replays_on_another_replica(stack: Stack, api: tuple[str, str]) -> None:
    member = sign_up(stack.replicas[0].base_url)
    headers = {**member.headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {"name": f"replayed {uuid.uuid4()}", "price": "3.50"}
    first = httpx.post(f"{api[0]}/items", json=body, headers=headers, timeout=30)
    again = httpx.post(f"{api[1]}/items", json=body, headers=headers, timeout=30)
    mine = httpx.get(f"{api[1]}/items", params={"owner": "me"}, headers=member.headers, timeout=30)
    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert mine.json()["total"] == 1


def test_login_throttle_counts_failures_on_every_replica(
    stack: Stack, api: tuple[str, str]
) -> None:
    email = unique_email()
    sign_up(stack.replicas[0].base_url, email)
    wrong = {"email": email, "password": "not the password"}
    failures = [
        httpx.post(f"{api[n % 2]}/auth/login", json=wrong, timeout=30).status_code for n in range(5)
    ]
    throttled = [httpx.post(f"{url}/auth/login", json=wrong, timeout=30) for url in api]
    assert failures == [401] * 5
    assert [r.status_code for r in throttled] == [429, 429]
    assert all(int(r.headers["Retry-After"]) > 0 for r in throttled)
