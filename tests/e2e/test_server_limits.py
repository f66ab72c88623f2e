"""`backoffice serve` itself bounds request heads and idle bodies, without nginx in front."""

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from backoffice.settings import Settings
from tests.e2e.conftest import served

LIMITS = {"MAX_HEADER_BYTES": "16384", "MAX_HEADER_COUNT": "50", "BODY_READ_TIMEOUT_SECONDS": "1"}


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    with served(settings, **LIMITS) as base_url:
        yield base_url


def exchange(base_url: str, *chunks: bytes) -> bytes:
    """Send raw bytes, then read what the server says until it closes the connection."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break  # the server may close while a large head is still being sent
        answer = b""
        while data := sock.recv(65536):
            answer += data
        return answer


def head(*headers: bytes, finished: bool = True) -> bytes:
    lines = [b"GET /health/live HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + (b"\r\n\r\n" if finished else b"\r\n")


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_header_past_the_limit_is_431(server: str) -> None:
    answer = exchange(server, head(b"X-Big: " + b"a" * 20_000))
    assert status_of(answer) == 431


def test_an_unfinished_header_past_the_limit_is_431_and_closed(server: str) -> None:
    chunks = [head(finished=False), b"X-Big: ", *([b"a" * 8192] * 8)]
    assert status_of(exchange(server, *chunks)) == 431


def test_too_many_headers_are_431(server: str) -> None:
    many = [f"X-H{i}: v".encode() for i in range(60)]
    assert status_of(exchange(server, head(*many))) == 431


def test_headers_within_the_limits_are_served(server: str) -> None:
    response = httpx.get(
        f"{server}/health/live", headers={f"X-H{i}": "v" * 200 for i in range(40)}, timeout=5
    )
    assert response.status_code == 200


def test_a_body_that_stops_arriving_is_408_and_closed(server: str) -> None:
    request = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email": '
    )
    answer = exchange(server, request)
    assert status_of(answer) == 408
    assert b"connection: close" in answer.lower()
