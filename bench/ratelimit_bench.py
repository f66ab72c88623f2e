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

With a `redis-server` on this machine the same cases run again with the budgets in it
(`RATE_LIMIT_STORAGE_URL`): the CPU is this process's, the client's included, not
Redis's; wall µs per request is one round trip on loopback, sequential. Then the two
asyncio clients, `redis` and `coredis`, run the limiter's script call alone, one call
at a time and 64 at once, to choose between them.
"""

import argparse
import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from operator import attrgetter
from typing import Any

import coredis
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import Redis
from starlette.types import Message, Receive, Scope, Send
from store_server import redis_server

from backoffice.errors import RateLimited
from backoffice.ratelimit import (
    LIMITER_STATE,
    RateLimitMiddleware,
    TablePick,
    client_key,
    rate_limit_tables,
)
from backoffice.ratelimit_store import COUNT, KEY_PREFIX, SCRIPT, RedisCounters, shared_tables
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


def spending_app(pick: TablePick, key: Callable[[Scope], str]) -> Callable[..., Any]:
    """The empty app, spending a route budget first as the auth routes' dependencies do."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimitMiddleware = scope["state"][LIMITER_STATE]
        try:
            await limiter.spend(scope, pick, key(scope))
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
) -> tuple[float, float]:
    """Best CPU and wall µs per request over `repeat` runs."""
    best_cpu = best_wall = float("inf")
    for run in range(repeat):
        prepared = [scopes(run * count + n) for n in range(count)]
        started, started_wall = time.process_time(), time.perf_counter()
        for scope in prepared:
            await app(scope, receive, send)
        best_cpu = min(best_cpu, (time.process_time() - started) / count)
        best_wall = min(best_wall, (time.perf_counter() - started_wall) / count)
    return best_cpu * 1e6, best_wall * 1e6


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


def bench_settings(**overrides: Any) -> Settings:
    return Settings(
        app_env="test",
        jwt_secret=SECRET,
        rate_limit_user=UNLIMITED,
        rate_limit_anon=UNLIMITED,
        rate_limit_sign_in=UNLIMITED,
        rate_limit_refresh=UNLIMITED,
        rate_limit_max_keys=100_000,
        **overrides,
    )


Cases = dict[str, tuple[Callable[..., Any], Callable[[int], Scope]]]


async def limiter_cases(store_url: str | None) -> tuple[Cases, Callable[[], Awaitable[None]]]:
    """The limiter's cases, its counters in memory or, with `store_url`, in Redis."""
    settings = bench_settings(rate_limit_storage_url=store_url or "")
    refused_settings = settings.model_copy(update={"rate_limit_refresh": "1/day"})
    tables, refused_tables = rate_limit_tables(settings), rate_limit_tables(refused_settings)
    shared = refused_shared = None
    closing: list[Callable[[], Awaitable[None]]] = []
    if store_url is None:
        for n in range(settings.rate_limit_max_keys):
            tables.anonymous.hit(f"ip:prefill-{n}")  # full: every new address evicts one
    else:
        shared, store = shared_tables(settings, tables)
        refused_shared, refused_store = shared_tables(refused_settings, refused_tables)
        closing += [store.close, refused_store.close]
    tokens = VerifiedTokens()
    refresh_token = new_refresh_token(settings, 123456)

    def limiter(app: Callable[..., Any], refused: bool = False) -> RateLimitMiddleware:
        if refused:
            return RateLimitMiddleware(
                app, refused_settings, refused_tables, tokens, refused_shared
            )
        return RateLimitMiddleware(app, settings, tables, tokens, shared)

    def by_refresh_tag(scope: Scope) -> str:
        family = refresh_token_family(settings, refresh_token)
        return f"family:{family}" if family is not None else client_key(scope)

    limited = limiter(empty_app)
    by_email = limiter(
        spending_app(attrgetter("sign_in"), lambda s: f"email:{normalize_email('Ann@Example.com')}")
    )
    by_family = limiter(spending_app(attrgetter("refresh"), by_refresh_tag))
    refused = limiter(spending_app(attrgetter("refresh"), by_refresh_tag), refused=True)
    await refused.count(attrgetter("refresh"), "family:123456")
    token, _ = create_access_token(settings, 42, "user", 0)
    bearer = [(b"authorization", f"Bearer {token}".encode())]
    tokens.claims(settings, token)
    cases: Cases = {
        "anonymous, one address": (limited, lambda n: scope_for("192.0.2.1", [])),
        "anonymous, a new address each time (in memory: table full at 100,000, evicting)": (
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

    async def close() -> None:
        for step in closing:
            await step()

    return cases, close


async def script_calls(
    call: Callable[[str], Awaitable[Any]], count: int, concurrency: int
) -> tuple[float, float]:
    """CPU µs per call and calls per second, `concurrency` calls in flight at a time."""
    keys = [f"{KEY_PREFIX}bench:ip:{n % 1000}" for n in range(count)]

    async def worker(share: list[str]) -> None:
        for key in share:
            await call(key)

    started, started_wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(keys[n::concurrency]) for n in range(concurrency)))
    cpu, wall = time.process_time() - started, time.perf_counter() - started_wall
    return cpu / count * 1e6, count / wall


async def compare_clients(url: str, count: int, repeat: int) -> None:
    """The limiter's script call (two budgets) through each client, best of `repeat` runs."""
    arguments = (COUNT, 1_000_000_000, 60, 1_000_000_000, 1)
    print("\nThe script call alone, by client (best of runs; CPU of this process only)")
    print("| client | in flight | CPU µs/call | calls/s |\n|---|---:|---:|---:|")
    redis_py = Redis.from_url(url)
    sha = await redis_py.script_load(SCRIPT)

    async def with_redis_py(key: str) -> Any:
        return await redis_py.evalsha(sha, 1, key, *arguments)

    port = int(url.rsplit(":", 1)[1].split("/")[0])
    async with coredis.Redis(host="127.0.0.1", port=port) as core:

        async def with_coredis(key: str) -> Any:
            return await core.evalsha(sha, keys=[key], args=arguments)

        store = RedisCounters(url, 1.0)

        async def with_store(key: str) -> Any:
            return await store.hit(key, COUNT, arguments[1:])

        clients = (
            ("redis (redis-py) asyncio", with_redis_py),
            ("coredis", with_coredis),
            ("redis-py as the limiter calls it (a turn's calls pipelined)", with_store),
        )
        for concurrency in (1, 64):
            for name, call in clients:
                await script_calls(call, count // 10, concurrency)  # connections, warm
                runs = [await script_calls(call, count, concurrency) for _ in range(repeat)]
                cpu = min(run[0] for run in runs)
                rate = max(run[1] for run in runs)
                print(f"| {name} | {concurrency} | {cpu:.1f} | {rate:,.0f} |")
    await redis_py.aclose()
    await store.close()


async def main(count: int, repeat: int, memory_only: bool) -> None:
    print(f"{count:,} requests per run in memory (a tenth with Redis), best of {repeat} runs")
    print("| case | counters | CPU µs/request | limiter overhead µs | wall µs/request |")
    print("|---|---|---:|---:|---:|")
    baseline, _ = await per_request(empty_app, lambda n: scope_for("192.0.2.1", []), count, repeat)
    print(f"| no limiter | - | {baseline:.2f} | - | - |")
    with contextlib.nullcontext(None) if memory_only else redis_server() as url:
        memory, close_memory = await limiter_cases(None)
        stores = [("memory", memory, count)]
        if url is not None:
            shared, close_shared = await limiter_cases(url)
            stores.append(("Redis", shared, count // 10))
        for name in memory:
            for store, cases, runs in stores:
                app, scopes = cases[name]
                cpu, wall = await per_request(app, scopes, runs, repeat)
                print(f"| {name} | {store} | {cpu:.2f} | {cpu - baseline:.2f} | {wall:.1f} |")
        await close_memory()
        if url is not None:
            await close_shared()
        for keys in (1, 100_000):
            # With 100,000 keys each hit costs milliseconds: a few hundred say enough.
            runs = (count, repeat) if keys == 1 else (200, 1)
            library = await limits_library(runs[0], runs[1], keys)
            name = f"`limits` aio memory sliding window, {keys:,} keys, `hit` alone"
            print(f"| {name} | - | - | {library:.2f} | - |")
        if url is not None:
            await compare_clients(url, count // 10, repeat)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-only", action="store_true", help="no Redis rows")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.repeat, args.memory_only))
