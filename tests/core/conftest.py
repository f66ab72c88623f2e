"""An app with the request limiter on, behind uvicorn's proxy-header handling as `serve` has it."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backoffice.main import create_app
from backoffice.settings import Settings

TRUSTED_PROXY = "127.0.0.1"
UNTRUSTED_PEER = "203.0.113.9"

ClientFactory = Callable[[str], httpx.AsyncClient]
LimitedApp = Callable[..., Awaitable[tuple[FastAPI, ClientFactory]]]


class Clock:
    """The limiter's clock, stopped until a test moves it: no test hangs on the machine's speed."""

    def __init__(self) -> None:
        self.now = 1_000_000.25

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def limited_app(settings: Settings, clock: Clock) -> AsyncIterator[LimitedApp]:
    """An app with the limiter on; its clients connect from a given peer address."""
    async with AsyncExitStack() as stack:

        async def build(**overrides: Any) -> tuple[FastAPI, ClientFactory]:
            limited = Settings(**{**settings.model_dump(), "rate_limit_enabled": True, **overrides})
            app = create_app(limited)
            for counters in (
                getattr(app.state, "rate_limit_tables", None) or app.state.rate_limit_counters
            ):
                counters.clock = clock
            await stack.enter_async_context(app.router.lifespan_context(app))
            served = ProxyHeadersMiddleware(app, trusted_hosts=limited.forwarded_allow_ips)

            def client_from(peer: str) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=served, client=(peer, 40000))
                client = httpx.AsyncClient(transport=transport, base_url="http://test")
                stack.push_async_callback(client.aclose)
                return client

            return app, client_from

        yield build
