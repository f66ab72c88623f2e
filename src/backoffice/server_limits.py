"""Header limits for `backoffice serve`: uvicorn's httptools protocol has none.

A client that reaches a replica directly (no nginx in front) could otherwise send a
header of any size, or any number of them, and have the worker buffer it all. Past
`MAX_HEADER_BYTES` (request line and headers together) or `MAX_HEADER_COUNT` headers,
the connection gets 431 and is closed, before the request reaches the app.
"""

import asyncio
from functools import partial
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from backoffice.settings import Settings

TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header fields too large\n"
)


class HeadTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing, uvicorn answers."""


class HeaderLimitedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, max_header_bytes: int, max_headers: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self._head_bytes = 0
        self._parsed_bytes = 0
        self._head_done = False
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        # A header still arriving is buffered by httptools, before any callback sees it:
        # bytes of an unfinished head are counted as they come.
        if not self._head_done:
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
        if not self.transport.is_closing():
            self.transport.write(TOO_LARGE)
            self.transport.close()


def header_limited_protocol(settings: Settings) -> type[asyncio.Protocol]:
    """The `http=` protocol for uvicorn; a partial pickles, so `--workers` can use it."""
    return cast(
        type[asyncio.Protocol],
        partial(
            HeaderLimitedProtocol,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_header_count,
        ),
    )
