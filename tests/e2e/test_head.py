"""`HEAD` over real HTTP: the headers of `GET`, no body on the wire, one access-log line."""

import signal
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from tests.e2e.conftest import Server


def raw_head(base_url: str, path: str) -> bytes:
    """Everything the server sends for one `HEAD` before it closes the connection."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(
            f"HEAD {path} HTTP/1.1\r\nHost: test\r\nX-Request-ID: head-1\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_head_sends_the_length_of_get_and_no_body(start_server: Callable[..., Server]) -> None:
    process, base_url = start_server(DRAIN_SECONDS="0")
    get = httpx.get(f"{base_url}/health/live", timeout=5)
    head, _, body = raw_head(base_url, "/health/live").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"content-length: {len(get.content)}".encode() in head.lower()
    assert body == b""

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    lines = [line for line in output.splitlines() if '"head-1"' in line]
    assert len(lines) == 1
    assert '"method": "HEAD"' in lines[0]
    assert '"route": "/health/live"' in lines[0]
