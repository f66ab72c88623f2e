from collections.abc import AsyncIterator

import httpx
import pytest

from backoffice.settings import Settings
from tests.conftest import SignedInUser


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


def many_keys(count: int) -> bytes:
    return ("{" + ",".join(f'"k{i}":0' for i in range(count)) + "}").encode()


@pytest.mark.parametrize(
    "body",
    [
        many_keys(90_000),
        b'{"email": [' + b",".join([b"0"] * 300_000) + b"]}",
        b'{"email": [' + b",".join([b"{}"] * 300_000) + b"]}",
        many_keys(101),  # one past the keys an object may have
    ],
    ids=["90000-keys", "300000-numbers", "300000-objects", "101-keys"],
)
async def test_a_body_of_too_many_values_is_a_short_400(
    client: httpx.AsyncClient, settings: Settings, body: bytes
) -> None:
    """Refused while parsing: the 90,000 keys were a 422 of 8 MB after 1.2 s."""
    assert len(body) <= settings.max_body_bytes
    response = await client.post(
        "/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert len(response.content) < 500


async def test_separators_inside_strings_do_not_count(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """1,198 commas and brackets, among escaped quotes, in one string are one value."""
    description = '",[{\\' * 399 + ","
    response = await client.post(
        "/items",
        json={"name": "Commas", "price": "1.00", "description": description},
        headers=user.headers,
    )
    assert response.status_code == 201
    assert response.json()["description"] == description


async def test_a_query_of_5000_unknown_parameters_is_one_error(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    query = "&".join(f"unknown{i}=" for i in range(5000))
    response = await client.get(f"/items?{query}", headers=user.headers)
    assert response.status_code == 422
    assert [error["type"] for error in response.json()["detail"]] == ["too_many_fields"]
    assert response.json()["errors_left_off"] == 0


async def test_a_sign_in_form_of_many_fields_is_400(client: httpx.AsyncClient) -> None:
    fields = {"username": "form@example.com", "password": "whatever1"}
    fields |= {f"unknown{i}": "x" for i in range(100)}
    response = await client.post("/auth/token", data=fields)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
