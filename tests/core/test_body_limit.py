from collections.abc import AsyncIterator

import httpx

from backoffice.settings import Settings


def oversized(settings: Settings) -> bytes:
    return b'{"email": "' + b"a" * settings.max_body_bytes + b'"}'


async def test_body_over_the_limit_by_content_length_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/auth/login", content=oversized(settings), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = oversized(settings)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        "/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_body_under_the_limit_passes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "whatever1"}
    )
    assert response.status_code == 401


async def test_a_json_route_called_as_multipart_keeps_the_json_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/auth/login",
        content=b"x" * (settings.max_body_bytes + 1),
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert response.status_code == 413
