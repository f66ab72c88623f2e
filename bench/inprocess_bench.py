"""Benchmark (not a test): the app's own CPU per request, in-process, no HTTP server.

    uv run python bench/inprocess_bench.py             # every route, 3 rounds
    uv run python bench/inprocess_bench.py --only item me --requests 4000

Requests go straight into the ASGI app (a minimal scope, `receive` and `send`), 16 at a
time, against a throw-away embedded PostgreSQL; the figure is this process's CPU time
(user + system) per request, best of the rounds. No server, socket or client shares the
process's CPU, so the number moves with the app's own code only, and it varies much less
on a busy machine than wrk's requests/s: this is the A/B tool behind each hot-path
change in docs/benchmarks.md (`make bench` remains the recorded end-to-end figure).
"""

import argparse
import asyncio
import json
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from alembic import command

from backoffice import embedded_db
from backoffice.cli import alembic_config
from backoffice.main import create_app
from backoffice.settings import Settings

warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR")

PASSWORD = "bench-password-1"  # noqa: S105 (a throw-away user of the benchmark)
CONCURRENCY = 16


class Caller:
    """Sends one request through the app and returns (status, body)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        raw_path, _, query = path.partition("?")
        headers = [(b"host", b"bench"), (b"user-agent", b"bench")]
        content = b"" if body is None else json.dumps(body).encode()
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if body is not None:
            headers += [(b"content-type", b"application/json")]
            headers += [(b"content-length", str(len(content)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": content, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, Any]]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    await queue.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await started.wait()
    return task, queue


async def cpu_per_request(send: Callable[[], Awaitable[int]], requests: int) -> float:
    """µs of this process's CPU per request, `CONCURRENCY` in flight; every answer 2xx."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = await send()
            if not 200 <= status < 300:
                raise SystemExit(f"bench: got {status}")

    before = time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return (time.process_time() - before) / requests * 1e6


async def run(args: argparse.Namespace, url: str) -> None:
    settings = Settings(
        app_env="test",
        database_url=url,
        jwt_secret="x" * 48,
        bcrypt_rounds=4,
        rate_limit_user="100000000/minute",
        rate_limit_anon="100000000/minute",
        access_token_minutes=120,
    )
    app = create_app(settings)
    task, queue = await lifespan(app)
    call = Caller(app)
    email = "bench@example.com"
    user = {"email": email, "password": PASSWORD, "full_name": "Bench"}
    status, body = await call("POST", "/api/v1/auth/register", body=user)
    if status != 201:
        raise SystemExit(f"bench: register got {status}: {body!r}")
    status, body = await call(
        "POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD}
    )
    if status != 200:
        raise SystemExit(f"bench: login got {status}: {body!r}")
    token = json.loads(body)["access_token"]
    item_ids = []
    for n in range(50):
        item = {"name": f"Bench {n}", "category": "bench", "price": f"{n + 1}.00"}
        status, body = await call("POST", "/api/v1/items", token, item)
        item_ids.append(json.loads(body)["id"])
    for n in range(5):
        await call("POST", "/api/v1/accounts", token, {"name": f"Bench {n}"})
    counter = iter(range(10**9))

    async def post_item() -> int:
        item = {"name": f"Posted {next(counter)}", "category": "posted", "price": "5.00"}
        return (await call("POST", "/api/v1/items", token, item))[0]

    routes: dict[str, Callable[[], Awaitable[int]]] = {
        "item": lambda: first(call("GET", f"/api/v1/items/{item_ids[0]}", token)),
        "me": lambda: first(call("GET", "/api/v1/users/me", token)),
        "list": lambda: first(
            call("GET", "/api/v1/items?category=bench&min_price=10&limit=20&sort=price", token)
        ),
        "create": post_item,
        "accounts": lambda: first(call("GET", "/api/v1/accounts", token)),
        "files": lambda: first(call("GET", "/api/v1/files", token)),
        "notifications": lambda: first(call("GET", "/api/v1/notifications", token)),
        "live": lambda: first(call("GET", "/health/live")),
    }
    chosen = args.only or list(routes)
    for name in chosen:
        await cpu_per_request(routes[name], 200)  # warm-up
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name in chosen:
            figure = await cpu_per_request(routes[name], args.requests)
            best[name] = min(best.get(name, figure), figure)
    for name in chosen:
        print(f"{name:13} {best[name]:8.0f} µs/request")
    await queue.put({"type": "lifespan.shutdown"})
    await task


async def first(call: Awaitable[tuple[int, bytes]]) -> int:
    return (await call)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and route")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="ROUTE",
        help="item me list create accounts files notifications live",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inprocess-bench-") as tmp:
        url, server = embedded_db.start(Path(tmp) / "pgdata", throwaway=True)
        try:
            config = alembic_config(url)
            config.attributes["configure_logger"] = False
            command.upgrade(config, "head")
            asyncio.run(run(args, url))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
