"""A retried create with the same Idempotency-Key replays the first response."""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.idempotency.repository import IdempotencyRepository
from backoffice.main import create_app
from backoffice.settings import Settings
from tests.conftest import SignedInUser
from tests.files.samples import PNG_BYTES

ITEM = {"name": "Retry-safe widget", "price": "9.99"}


def keyed(user: SignedInUser, key: str) -> dict[str, str]:
    return {**user.headers, "Idempotency-Key": key}


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_same_key_replays_the_first_response(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    first = await client.post("/items", json=ITEM, headers=keyed(user, "k-1"))
    again = await client.post("/items", json=ITEM, headers=keyed(user, "k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await count(engine, "items") == 1


async def test_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.post("/items", json=ITEM, headers=keyed(user, "k-2"))
    other = await client.post(
        "/items", json={**ITEM, "name": "Another"}, headers=keyed(user, "k-2")
    )
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_keys_are_per_user(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser, admin: SignedInUser
) -> None:
    mine = await client.post("/items", json=ITEM, headers=keyed(user, "shared"))
    theirs = await client.post(
        "/items", json={**ITEM, "name": "Theirs"}, headers=keyed(admin, "shared")
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert await count(engine, "items") == 2


async def test_concurrent_requests_with_one_key_do_the_work_once(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    responses = await asyncio.gather(
        *(client.post("/items", json=ITEM, headers=keyed(user, "burst")) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(engine, "items") == 1
    assert await count(engine, "notifications") == 1


@pytest.fixture
async def other_replica(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app instance on the same database, as another container would be."""
    replica: FastAPI = create_app(settings)
    async with replica.router.lifespan_context(replica):
        transport = httpx.ASGITransport(app=replica, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield c


async def test_a_retry_on_another_replica_is_replayed(
    client: httpx.AsyncClient,
    other_replica: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
) -> None:
    first = await client.post("/accounts", json={"name": "Acme"}, headers=keyed(user, "k-3"))
    retry = await other_replica.post("/accounts", json={"name": "Acme"}, headers=keyed(user, "k-3"))
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert await count(engine, "accounts") == 1


async def test_a_failed_attempt_releases_the_key(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await client.post("/items", json=ITEM, headers=user.headers)
    duplicate = await client.post("/items", json=ITEM, headers=keyed(user, "k-4"))
    assert duplicate.status_code == 409
    assert await count(engine, "idempotency_keys") == 0


async def test_an_expired_key_does_the_work_again(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    await client.post("/accounts", json={"name": "Acme"}, headers=keyed(user, "k-5"))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        )
    again = await client.post("/accounts", json={"name": "Acme"}, headers=keyed(user, "k-5"))
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert await count(engine, "accounts") == 2


async def test_a_malformed_key_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post("/items", json=ITEM, headers=keyed(user, "has space"))
    assert response.status_code == 422


async def test_without_a_key_each_request_does_the_work(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    for _ in range(2):
        await client.post("/accounts", json={"name": "Acme"}, headers=user.headers)
    assert await count(engine, "accounts") == 2
    assert await count(engine, "idempotency_keys") == 0


async def test_an_unauthenticated_request_with_a_key_is_401(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/items", json=ITEM, headers={"Idempotency-Key": "anon"})
    assert response.status_code == 401


def test_the_header_is_documented_on_creating_routes_only(app: FastAPI) -> None:
    paths = app.openapi()["paths"]

    def has_header(path: str, method: str) -> bool:
        params = paths[path][method].get("parameters", [])
        return any(p["name"] == "Idempotency-Key" for p in params)

    assert has_header("/api/v1/items", "post")
    assert has_header("/api/v1/files", "post")
    assert not has_header("/api/v1/notifications/{notification_id}/read", "post")


async def test_a_retried_upload_is_stored_once(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    responses = [
        await client.post(
            "/files",
            headers=keyed(user, "upload-1"),
            files={"file": ("pixel.png", PNG_BYTES, "image/png")},
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert await count(engine, "files") == 1


async def test_a_deactivated_user_gets_401_not_a_replay(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    first = await client.post("/items", json=ITEM, headers=keyed(user, "k-6"))
    assert first.status_code == 201
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    again = await client.post("/items", json=ITEM, headers=keyed(user, "k-6"))
    assert again.status_code == 401


async def test_failing_to_store_the_response_never_fails_the_committed_work(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken_complete(*args: object, **kwargs: object) -> None:
        raise TimeoutError("pool exhausted")

    monkeypatch.setattr(IdempotencyRepository, "complete", broken_complete)
    response = await client.post("/items", json=ITEM, headers=keyed(user, "k-7"))
    assert response.status_code == 201
    assert await count(engine, "items") == 1


async def test_a_key_still_in_use_is_409_with_retry_after(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("backoffice.idempotency.service.WAIT_SECONDS", 0.2)
    body = json.dumps(ITEM).encode()
    digest = hashlib.sha256(b"POST /api/v1/items\n" + body).hexdigest()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, request_hash) "
                "VALUES (:user_id, 'k-9', :digest)"
            ),
            {"user_id": user.id, "digest": digest},
        )
    response = await client.post(
        "/items", content=body, headers={**keyed(user, "k-9"), "Content-Type": "application/json"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    assert int(response.headers["Retry-After"]) > 0


async def test_a_client_gone_mid_body_is_no_server_error(
    app: FastAPI,
    client: httpx.AsyncClient,
    user: SignedInUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = [
        (b"host", b"test"),
        (b"content-type", b"application/json"),
        (b"content-length", b"100"),
        *((k.lower().encode(), v.encode()) for k, v in keyed(user, "gone").items()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/items",
        "raw_path": b"/api/v1/items",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    incoming = iter(
        [
            {"type": "http.request", "body": b'{"name": "Wid', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]
    metrics = (await client.get("http://test/metrics")).text
    assert 'route="/api/v1/items",status="5' not in metrics


async def test_a_replayed_upload_names_the_file_even_after_its_deletion(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    """The replay reports what the first attempt did; it does not upload again (ST302)."""

    async def upload() -> httpx.Response:
        return await client.post(
            "/files",
            headers=keyed(user, "upload-then-delete"),
            files={"file": ("pixel.png", PNG_BYTES, "image/png")},
        )

    first = await upload()
    deleted = await client.delete(f"/files/{first.json()['id']}", headers=user.headers)
    replayed = await upload()
    assert (first.status_code, deleted.status_code, replayed.status_code) == (201, 204, 201)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    gone = await client.get(f"/files/{first.json()['id']}", headers=user.headers)
    assert gone.status_code == 404
    assert await count(engine, "files") == 0
