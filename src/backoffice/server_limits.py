"""Connection limits for `backoffice serve`: uvicorn's httptools protocol has almost none.

A client that reaches a replica directly (no nginx in front) could otherwise hold the
worker's sockets and memory for ever. Here, per worker process:

- a request head (request line and headers) past `MAX_HEADER_BYTES` or
  `MAX_HEADER_COUNT` headers gets 431 and the connection is closed, before the request
  reaches the app;
- a head must be complete within `HEADER_TIMEOUT_SECONDS` of the connection opening,
  or of the first byte of the next request on a kept-alive connection: else 408 and
  close (a silent close when nothing was sent). uvicorn's own keep-alive timer cannot
  do this: it starts only after a response and any byte cancels it, so a socket that
  sends nothing, or a header byte a second, was never closed;
- past `MAX_CONNECTIONS_PER_WORKER` open connections a new one is answered 503 with
  `Retry-After` and closed, without reading a request; it lingers at most
  `REFUSAL_LINGER_SECONDS`, reading and dropping what the client sends, so the client
  reads the 503 rather than a reset. uvicorn's `limit_concurrency` refuses only once a
  head is complete, so it never refuses a socket that sends nothing.
"""

import asyncio
from functools import partial
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backoffice.settings import Settings

REFUSAL_LINGER_SECONDS = 1.0

TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header fields too large\n"
)
TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 36\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header not received in time\n"
)
TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 39\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Too many open connections, retry later\n"
)


class HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing, uvicorn answers."""


class LimitedProtocol(HttpToolsProtocol):
    def __init__(
        self,
        *args: Any,
        max_header_bytes: int,
        max_headers: int,
        header_timeout: float,
        max_connections: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self._head_bytes = 0
        self._parsed_bytes = 0
        self._head_done = False
        self._too_large = False
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self.connections) >= self.max_connections:
            self._refuse_connection(cast(asyncio.Transport, transport))
            return
        super().connection_made(transport)  # type: ignore[arg-type]
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        # A header still arriving is buffered by httptools, before any callback sees it:
        # bytes of an unfinished head are counted as they come.
        if not self._head_done:
            if self._timer is None:
                self._start_head_timer()  # the next request's first bytes
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._head_done and self._head_bytes > self.max_header_bytes:
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        if len(self.headers) >= self.max_headers:
            self._too_large = True
            raise HeadTooLarge()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_done = False
        self._head_bytes = 0

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self.max_header_bytes:
            self._too_large = True
            raise HeadTooLarge()

    def _refuse(self) -> None:
        self._close_with(TOO_LARGE)

    def _close_with(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _start_head_timer(self) -> None:
        self._timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self._head_bytes == 0:
            self.transport.close()  # nothing sent: as an idle keep-alive connection closes
        else:
            self._close_with(TOO_SLOW)

    def _refuse_connection(self, transport: asyncio.Transport) -> None:
        """503 at once, then half-close and drop what arrives until the client hangs up."""
        self._refused = True
        self.transport = transport
        transport.write(TOO_MANY)
        if transport.can_write_eof():
            transport.write_eof()
        self._timer = self.loop.call_later(REFUSAL_LINGER_SECONDS, transport.close)


def limited_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The `http=` protocol for uvicorn; a partial pickles, so `--workers` can use it."""
    return cast(
        type[asyncio.Protocol],
        partial(
            LimitedProtocol,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_header_count,
            header_timeout=settings.header_timeout_seconds,
            max_connections=settings.max_connections_per_worker,
        ),
    )
