"""What the request limiter costs per request, without HTTP or a database in the way.

Calls a do-nothing ASGI app directly, with and without `RateLimitMiddleware` in front,
and prints CPU microseconds per request (process time, as the machine may be shared),
best of `--repeat` runs, beside `limits`' own in-memory sliding-window strategy. A
bearer request is measured with its token in the app's verified-token cache, as every
request after a token's first finds it (the caller check then reuses the same answer).

The auth routes' budgets keyed by what the request proves (an email, a refresh token's
family tag) run in the route after the body is parsed: they are measured as the app
behind the middleware spending them, allowed and refused (a refused one raises
`RateLimited`, as the route does, and the middleware's wrapper sends the headers).
"""

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import Message, Receive, Scope, Send

from backoffice.errors import RateLimited
from backoffice.ratelimit import (
    LIMITER_STATE,
    RateLimitMiddleware,
    WindowCounters,
    client_key,
    rate_limit_tables,
)
from backoffice.schemas import normalize_email
from backoffice.security import (
    VerifiedTokens,
    create_access_token,
    new_refresh_token,
    refresh_token_family,
)
from backoffice.settings import Settings

UNLIMITED = "1000000000/minute;1000000000/second"
SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105


async def empty_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def spending_app(
    table: Callable[[RateLimitMiddleware], WindowCounters], key: Callable[[Scope], str]
) -> Callable[..., Any]:
    """The empty app, spending a route budget first as the auth routes' dependencies do."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimitMiddleware = scope["state"][LIMITER_STATE]
        try:
            limiter.spend(scope, table(limiter), key(scope))
        except RateLimited:
            await send({"type": "http.response.start", "status": 429, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await empty_app(scope, receive, send)

    return app


async def receive() -> Message:
    return {"type": "http.request", "body": b""}


async def send(message: Message) -> None:
    return None


def scope_for(client: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/items",
        "headers": headers,
        "client": (client, 40000),
        "state": {},
    }


async def per_request(
    app: Callable[..., Any], scopes: Callable[[int], Scope], count: int, repeat: int
) -> float:
    best = float("inf")
    for run in range(repeat):
        prepared = [scopes(run * count + n) for n in range(count)]
        started = time.process_time()
        for scope in prepared:
            await app(scope, receive, send)
        best = min(best, (time.process_time() - started) / count)
    return best * 1e6


async def limits_library(count: int, repeat: int, keys: int) -> float:
    """`limits`' `hit`, with the event loop let run between hits as a server's would.

    The loop matters: its memory storage starts a sweep over every key after a hit.
    """
    limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
    item = parse("1000000000/minute")
    for n in range(keys):
        await limiter.hit(item, "ip", f"prefill-{n}")
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(count):
            await limiter.hit(item, "ip", "192.0.2.1")
            await asyncio.sleep(0)
        yielding = time.process_time()
        for _ in range(count):
            await asyncio.sleep(0)
        spent = 2 * yielding - started - time.process_time()
        best = min(best, spent / count)
    return best * 1e6


async def main(count: int, repeat: int) -> None:
    settings = Settings(
        app_env="test",
        jwt_secret=SECRET,
        rate_limit_user=UNLIMITED,
        rate_limit_anon=UNLIMITED,
        rate_limit_sign_in=UNLIMITED,
        rate_limit_refresh=UNLIMITED,
        rate_limit_max_keys=100_000,
    )
    tables = rate_limit_tables(settings)
    for n in range(settings.rate_limit_max_keys):
        tables.anonymous.hit(f"ip:prefill-{n}")  # full: from here on, every new address evicts one
    tokens = VerifiedTokens()
    limited = RateLimitMiddleware(empty_app, settings, tables, tokens)
    refresh_token = new_refresh_token(settings, 123456)

    def by_refresh_tag(scope: Scope) -> str:
        family = refresh_token_family(settings, refresh_token)
        return f"family:{family}" if family is not None else client_key(scope)

    by_email = RateLimitMiddleware(
        spending_app(
            lambda m: m.tables.sign_in, lambda s: f"email:{normalize_email('Ann@Example.com')}"
        ),
        settings,
        tables,
        tokens,
    )
    by_family = RateLimitMiddleware(
        spending_app(lambda m: m.tables.refresh, by_refresh_tag), settings, tables, tokens
    )
    refused_settings = settings.model_copy(update={"rate_limit_refresh": "1/day"})
    refused_tables = rate_limit_tables(refused_settings)
    refused = RateLimitMiddleware(
        spending_app(lambda m: m.tables.refresh, by_refresh_tag),
        refused_settings,
        refused_tables,
        tokens,
    )
    refused_tables.refresh.hit("family:123456")
    token, _ = create_access_token(settings, 42, "user", 0)
    bearer = [(b"authorization", f"Bearer {token}".encode())]
    tokens.claims(settings, token)

    baseline = await per_request(empty_app, lambda n: scope_for("192.0.2.1", []), count, repeat)
    cases = {
        "anonymous, one address": (limited, lambda n: scope_for("192.0.2.1", [])),
        "anonymous, a new address each time (table full at 100,000, evicting)": (
            limited,
            lambda n: scope_for(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", []),
        ),
        "signed in, token in the verified-token cache": (
            limited,
            lambda n: scope_for("192.0.2.1", bearer),
        ),
        "sign-in: address flood guard + email budget": (
            by_email,
            lambda n: scope_for("192.0.2.1", []),
        ),
        "refresh: address flood guard + family tag check + family budget": (
            by_family,
            lambda n: scope_for("192.0.2.1", []),
        ),
        "refresh refused by its family budget (429, no database)": (
            refused,
            lambda n: scope_for("192.0.2.1", []),
        ),
    }
    print(f"{count:,} requests per run, best of {repeat} runs; CPU µs per request")
    print("| case | µs/request | limiter overhead µs |\n|---|---:|---:|")
    print(f"| no limiter | {baseline:.2f} | - |")
    for name, (app, scopes) in cases.items():
        value = await per_request(app, scopes, count, repeat)
        print(f"| {name} | {value:.2f} | {value - baseline:.2f} |")
    for keys in (1, 100_000):
        # With 100,000 keys each hit costs milliseconds: a few hundred say enough.
        runs = (count, repeat) if keys == 1 else (200, 1)
        library = await limits_library(runs[0], runs[1], keys)
        name = f"`limits` aio memory sliding window, {keys:,} keys, `hit` alone"
        print(f"| {name} | - | {library:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.repeat))
