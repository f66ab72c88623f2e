"""The error model: one body shape, the right status, never a trace."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import SignedInUser


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "malformed_body"
    assert body["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "x@example.com", "password": ' + b"1" * 5001 + b"}",
        b'{"email": "x@example.com", "password": 0.' + b"1" * 5001 + b"}",
        b'{"email": "x@example.com", "password": NaN}',
        b'{"email": "x@example.com", "password": -Infinity}',
        b'{"email": "x@example.com", "password": "\xff"}',
        b"[" * 100_000,
    ],
    ids=["long-integer", "long-fraction", "nan", "infinity", "not-utf8", "deep"],
)
async def test_a_body_that_is_no_strict_json_is_400_malformed_body(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_unknown_route_is_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-route")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code", "request_id"}
    assert response.json()["code"] == "not_found"


async def test_validation_error_is_422_with_fastapis_list(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json={"email": "x@example.com"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["loc"] == ["body", "password"]


async def test_unknown_field_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"email": "x@example.com", "password": "whatever", "extra": 1}
    )
    assert response.status_code == 422


@pytest.fixture
async def failing_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with one extra route that fails the way a bug would."""

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/v1/test-boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
        yield c
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", "") != "/api/v1/test-boom"
    ]


async def test_unexpected_error_is_500_without_a_trace(failing_app: httpx.AsyncClient) -> None:
    response = await failing_app.get("/test-boom", headers={"X-Request-ID": "trace-me-123"})
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "detail": "Internal server error",
        "code": "internal_error",
        "request_id": "trace-me-123",
    }
    assert "secret internals" not in response.text
    assert response.headers["X-Request-ID"] == "trace-me-123"


async def test_every_response_has_request_id_and_process_time(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/live")
    assert len(response.headers["X-Request-ID"]) == 32
    assert float(response.headers["X-Process-Time"]) >= 0


async def test_a_sane_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/live", headers={"X-Request-ID": "x" * 500})
    assert response.headers["X-Request-ID"] != "x" * 500


async def test_security_headers_are_set(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/health/live")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("field", ["full_name", "password", "email"])
async def test_a_lone_surrogate_is_422_not_500(client: httpx.AsyncClient, field: str) -> None:
    body = {"email": "s@example.com", "password": "long enough", "full_name": "S"}
    raw = json.dumps(body).replace(f'"{body[field]}"', '"\\ud800"')
    response = await client.post(
        "/auth/register", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_a_rejected_password_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "p@example.com", "password": "short77", "full_name": "P"},
    )
    assert response.status_code == 422
    assert "short77" not in response.text


async def test_a_rejected_body_is_not_echoed_whole(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json=["x" * 10_000])
    assert response.status_code == 422
    assert len(response.content) < 2_000


async def test_a_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/accounts")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"


async def test_options_on_a_path_with_two_routes_allows_both(client: httpx.AsyncClient) -> None:
    response = await client.options("/accounts")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


async def test_a_422_lists_20_errors_and_counts_the_rest(client: httpx.AsyncClient) -> None:
    body = {f"unknown{i}": 0 for i in range(50)}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert set(answer) == {"detail", "code", "request_id", "errors_left_off"}
    assert len(answer["detail"]) == 20
    assert answer["errors_left_off"] == 50 + 3 - 20  # the unknown keys and the 3 missing


async def test_a_422_from_a_service_counts_none_left_off(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """The same shape when a rule needing the database refuses (`InvalidInput`)."""
    response = await client.post(
        "/items",
        json={"name": "Not mine", "price": "1.00", "image_file_id": 999},
        headers=user.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors_left_off"] == 0


async def test_an_unknown_key_of_half_a_megabyte_is_not_echoed_whole(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/register", json={"k" * 500_000: 0})
    assert response.status_code == 422
    assert len(response.content) < 2_000


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
async def test_a_json_body_not_in_utf8_is_400_malformed_body(
    client: httpx.AsyncClient, encoding: str, bom: bool
) -> None:
    text = json.dumps({"email": "wide@example.com", "password": "long enough", "full_name": "W"})
    body = ("\ufeff" + text if bom else text).encode(encoding)
    response = await client.post(
        "/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_a_utf8_bom_is_ignored(client: httpx.AsyncClient) -> None:
    text = json.dumps({"email": "bom@example.com", "password": "long enough", "full_name": "B"})
    response = await client.post(
        "/auth/register",
        content=b"\xef\xbb\xbf" + text.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
