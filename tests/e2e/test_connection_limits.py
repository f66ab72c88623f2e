"""`backoffice serve` bounds how long a socket may wait and how many a worker holds open."""

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from backoffice.settings import Settings
from tests.e2e.conftest import served

CAP = 8
LIMITS = {
    "HEADER_TIMEOUT_SECONDS": "1",
    "KEEPALIVE_TIMEOUT_SECONDS": "30",  # longer than any bound below: only the head timer acts
    "MAX_CONNECTIONS_PER_WORKER": str(CAP),
    "BODY_READ_TIMEOUT_SECONDS": "120",
    "RATE_LIMIT_ENABLED": "false",
}
CLOSED_WITHIN = 15.0
"""Generous: the server closes after 1 s; a busy machine may be late, never this late."""


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    with served(settings, **LIMITS) as base_url:
        yield base_url


def connect(base_url: str) -> socket.socket:
    address = urlsplit(base_url)
    return socket.create_connection((address.hostname, address.port), timeout=CLOSED_WITHIN)


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server sends until it closes; a socket still open after the bound fails."""
    answer = b""
    try:
        while data := sock.recv(65536):
            answer += data
    except TimeoutError:
        pytest.fail(f"still open after {CLOSED_WITHIN} s, having sent {answer!r}")
    return answer


def dribble(sock: socket.socket, head: bytes) -> bytes:
    """Send `head` a byte every 0.2 s until the server closes; what it answered."""
    for byte in head:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break  # closed under us
        time.sleep(0.2)
    return read_until_closed(sock)


SLOW_HEAD = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200


def test_a_connection_that_sends_nothing_is_closed(server: str) -> None:
    with connect(server) as sock:
        assert read_until_closed(sock) == b""


def test_a_head_sent_a_byte_at_a_time_is_408_and_closed(server: str) -> None:
    with connect(server) as sock:
        answer = dribble(sock, SLOW_HEAD)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()


def test_a_kept_alive_connection_that_dribbles_its_next_head_is_closed(server: str) -> None:
    """uvicorn's keep-alive timer stops at the first byte of the next request."""
    with connect(server) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):
            first += sock.recv(65536)
        answer = dribble(sock, SLOW_HEAD)
    assert first.startswith(b"HTTP/1.1 200 ")
    assert answer.startswith(b"HTTP/1.1 408 ")


def held_request(base_url: str) -> socket.socket:
    """A connection inside a request: its head is complete, its body never comes."""
    sock = connect(base_url)
    sock.sendall(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    return sock


def test_connections_past_the_cap_get_503_and_later_ones_are_served(server: str) -> None:
    with ExitStack() as held:
        for _ in range(CAP):
            held.enter_context(held_request(server))
        time.sleep(0.5)  # the server has taken every held head before the next connects
        with connect(server) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            refused = read_until_closed(sock)
    after = httpx.get(f"{server}/health/live", timeout=CLOSED_WITHIN)
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in refused.lower()
    assert after.status_code == 200


def test_responses_do_not_name_the_server_software(server: str) -> None:
    response = httpx.get(f"{server}/health/live", timeout=CLOSED_WITHIN)
    assert "server" not in response.headers
