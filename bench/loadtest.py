"""Load test (not a test): `make loadtest`, Locust's mobile client against the service.

    uv run --group load python bench/loadtest.py                    # 20 users, 60 s
    uv run --group load python bench/loadtest.py -u 50 -r 10 -t 120
    DATABASE_URL=... uv run --group load python bench/loadtest.py    # yours (adds users, items)

What it does, all on 127.0.0.1:
1. a database (`DATABASE_URL`, else a throw-away embedded PostgreSQL), migrated with
   Alembic;
2. the service as a real process (`python -m backoffice serve`, one worker, `LOG_LEVEL`
   WARNING, `BCRYPT_ROUNDS` 12 as in production unless `--bcrypt-rounds` says otherwise:
   every simulated user registers and logs in once, and that cost is part of the load);
3. Locust, headless, with `bench/locustfile.py` (`MobileClient`: register, login,
   refresh, browse and search items, create items with idempotent retries, manage
   employees, upload a PNG, read notifications), printing its summary at the end. All
   users share 127.0.0.1 and the default request budgets, as phones behind one carrier
   address do; a 429 (or a 503 with `Retry-After`) is waited out and retried (its own
   column, not a failure).
   `--exempt-generator` lifts the budgets for 127.0.0.1 (`RATE_LIMIT_EXEMPT_CIDRS`), for
   capacity runs;
4. prints its progress every few seconds while the load runs, then every failure with
   its request and response (and the service's log lines at WARNING and above) and a
   table per endpoint; with `--write-docs` (the tracked file changes only when asked),
   that table replaces its section of `docs/benchmarks.md` (between the `loadtest`
   markers).

Exits non-zero when a request failed. Every process it starts is stopped on the way
out, errors included.
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import bcrypt
from http_bench import (
    HOST,
    ROOT,
    Server,
    driver_dsn,
    free_port,
    machine,
    migrate,
    postgres_facts,
)

from backoffice import embedded_db
from backoffice.settings import Settings

DOCS = ROOT / "docs" / "benchmarks.md"
LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
START_MARKER = "<!-- loadtest:start -->"
END_MARKER = "<!-- loadtest:end -->"


@dataclass
class Row:
    name: str
    method: str
    requests: int
    failures: int
    throttled: int
    rps: float
    p50: float
    p95: float
    p99: float
    max: float


def start_service(tmp: Path, url: str, args: argparse.Namespace) -> Server:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "HOST": HOST,
        "PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "DRAIN_SECONDS": "0",
        "WEB_CONCURRENCY": "1",
        "BCRYPT_ROUNDS": str(args.bcrypt_rounds),
        # Capacity runs lift the request budgets for the generator's own address.
        "RATE_LIMIT_EXEMPT_CIDRS": f"{HOST}/32" if args.exempt_generator else "",
    }
    return Server(
        "service", [sys.executable, "-m", "backoffice", "serve"], env, tmp / "service" / "out.log"
    )


PROGRESS_SECONDS = 5


def run_locust(base_url: str, tmp: Path, args: argparse.Namespace, service: Server) -> int:
    """Locust headless until it ends; a progress line every few seconds meanwhile."""
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        f"{args.spawn_rate:g}",
        "--run-time",
        f"{args.duration}s",
        "--stop-timeout",
        "10",
        "--host",
        base_url,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "LOADTEST_FAILURE_LOG": str(tmp / "failures.jsonl"),
        "LOADTEST_STATS_JSON": str(tmp / "stats.json"),
    }
    print("$ " + " ".join(argv[2:]), flush=True)
    started = time.monotonic()
    cpu_start = service.cpu_seconds()
    with subprocess.Popen(argv, env=env, cwd=tmp) as locust:  # noqa: S603 (our locustfile)
        while True:
            try:
                return locust.wait(timeout=PROGRESS_SECONDS)
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > args.duration + 180:
                    locust.kill()
                    raise
                busy = (service.cpu_seconds() - cpu_start) / elapsed * 100
                print(
                    f"  {elapsed:.0f} s in ({args.duration} s of load), service CPU {busy:.0f}%",
                    flush=True,
                )


def read_stats(path: Path) -> tuple[list[Row], Row, Row]:
    """Per-request rows, the steady state and the total, as the locustfile's `quit` wrote them."""
    rows = [
        Row(
            name=rec["name"],
            method=rec["method"],
            requests=rec["requests"],
            failures=rec["failures"],
            throttled=rec["throttled"],
            rps=rec["rps"],
            p50=rec["p50"],
            p95=rec["p95"],
            p99=rec["p99"],
            max=rec["p100"],
        )
        for rec in json.loads(path.read_text())
    ]
    total = rows.pop()  # the locustfile writes the Aggregated entry last
    steady = rows.pop()  # and before it, all but register and login
    return rows, steady, total


def report_failures(tmp: Path, service: Server) -> list[dict[str, object]]:
    """Print each failed request with its response, and the service's log at WARNING+."""
    log = tmp / "failures.jsonl"
    failures = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if failures:
        print(f"\n{len(failures)} failed requests (request and response; first 10):")
        for failure in failures[:10]:
            print(json.dumps(failure, indent=2))
    service_log = service.log.read_text(errors="replace").strip()
    if service_log:
        lines = service_log.splitlines()
        print(f"\nThe service logged {len(lines)} lines at WARNING or above (last 40):")
        print("\n".join(lines[-40:]))
    return failures


def table(rows: list[Row], steady: Row, total: Row) -> str:
    lines = [
        "| request | requests | failures | throttled | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*sorted(rows, key=lambda r: -r.requests), steady, total]:
        label = f"`{r.method} {r.name}`"
        if r is steady:
            label = "**all but register and login**"
        elif r is total:
            label = "**all**"
        lines.append(
            f"| {label} | {r.requests:,} | {r.failures:,} | {r.throttled:,} | {r.rps:,.1f} | "
            f"{r.p50:,.0f} | {r.p95:,.0f} | {r.p99:,.0f} | {r.max:,.0f} |"
        )
    return "\n".join(lines)


def bcrypt_ms(rounds: int) -> float:
    """What one bcrypt hash at this cost takes here (the service verifies at the same cost)."""
    started = time.perf_counter()
    bcrypt.hashpw(b"load-test-password", bcrypt.gensalt(rounds))
    return (time.perf_counter() - started) * 1000


def section(
    rows: list[Row],
    steady: Row,
    total: Row,
    facts: dict[str, str],
    cpu_us: float,
    args: argparse.Namespace,
) -> str:
    cpus = os.cpu_count() or 1
    budgets = (
        "the generator exempt from the request budgets (`RATE_LIMIT_EXEMPT_CIDRS`)"
        if args.exempt_generator
        else "the default request budgets"
    )
    return f"""{START_MARKER}
## Load test: a mobile client under Locust

`make loadtest` (`uv run --group load python bench/loadtest.py`, options
`LOADTEST_ARGS="-u USERS -r SPAWN_RATE -t SECONDS --bcrypt-rounds N --exempt-generator"`).
The service runs as its own process on 127.0.0.1 (one uvicorn worker, `LOG_LEVEL=WARNING`,
`BCRYPT_ROUNDS={args.bcrypt_rounds}`, {budgets}) against {facts["database"]}; Locust runs
`bench/locustfile.py` headless on the same machine: **{args.users} users** spawned at
{args.spawn_rate:g}/s for **{args.duration} s**, each waiting 0.1-0.6 s between tasks.
Each user registers (uuid email), logs in with `POST /auth/login`, creates an account
and 3 items, then by weight: browses items (random sort, order, limit, page, category;
10), searches them (`q=` a catalogue word; 6), opens one (6), creates one with an
`Idempotency-Key` (3; a quarter of them sent twice, the replay must return the same
id), tries a taken name in another case (1; 409 expected), refreshes its token pair
(1), reads itself (1), adds (3), lists (3), patches (2) and deletes (1) employees of its
account, uploads an 8x8 PNG (1), lists its notifications and marks one read (3). A
status other than the expected one, or a body that breaks an assertion, is a failure.
Every user comes from the one address 127.0.0.1, as phones behind a carrier's NAT do; a
429, or a 503 with `Retry-After` (a sign-in that found the bcrypt queue full), is waited
out and sent again, as the app does, and counted under **throttled**, not as a failure.
Latencies are Locust's (client side, ms), with Locust, the service and PostgreSQL
sharing the machine's CPUs.

**Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC**, code at {facts["commit"]}.
**Machine**: {facts["cpu"]}, {facts["ram"]} RAM, {facts["os"]}; PostgreSQL
{facts["postgres"]}; Python {facts["python"]}; locust {version("locust")};
{facts["packages"]}.

{table(rows, steady, total)}

**{total.requests:,} requests, {total.failures:,} failures, {total.throttled:,} throttled**
(the requests include the throttled ones), {total.rps:,.1f} req/s overall; the service
used {cpu_us:,.0f} µs of CPU per request on average (all routes, the bcrypt of every
register and login included).

Register and login are bcrypt-bound by design: one hash at cost {args.bcrypt_rounds} takes
{bcrypt_ms(args.bcrypt_rounds):,.0f} ms of CPU here, and the service runs at most {cpus} at
a time (a `CapacityLimiter` sized to the CPUs), so the ramp ({args.users} users, two
hashes each, within ~{args.users / args.spawn_rate:g} s) queues them: their latency is
that of a sign-in storm, not of the steady state, which the row **all but register and
login** shows (the first seconds of it share the CPUs with the storm).
{END_MARKER}"""


def write_docs(text: str) -> None:
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = current.find(START_MARKER), current.find(END_MARKER)
    if start != -1 and end != -1:
        updated = current[:start] + text + current[end + len(END_MARKER) :]
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(updated)


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> int:
    url = args.database_url or os.environ.get("DATABASE_URL")
    if url:
        url = Settings(database_url=url).async_database_url
        where = "the database of `DATABASE_URL`"
    else:
        url, pg_server = embedded_db.start(tmp / "pgdata", throwaway=True)
        stack.callback(pg_server.cleanup)
        where = "a throw-away embedded PostgreSQL"
    migrate(url)
    pg_version, _ = asyncio.run(postgres_facts(driver_dsn(url)))
    facts = {**machine(pg_version), "database": where}
    service = start_service(tmp, url, args)
    stack.callback(service.stop)
    service.wait_until_live("/health/ready")

    cpu_before = service.cpu_seconds()
    code = run_locust(service.base_url, tmp, args, service)
    cpu_after = service.cpu_seconds()
    stats = tmp / "stats.json"
    if not stats.exists():
        raise RuntimeError(f"locust exited with {code} and wrote no statistics")
    rows, steady, total = read_stats(stats)
    failures = report_failures(tmp, service)
    cpu_us = (cpu_after - cpu_before) / max(total.requests, 1) * 1e6

    text = section(rows, steady, total, facts, cpu_us, args)
    print("\n" + text.split("\n", 2)[2].rsplit("\n", 1)[0])
    if args.write_docs:
        write_docs(text)
        print(f"\nwrote {DOCS.relative_to(ROOT)}")
    if total.failures or failures:
        print(f"\nloadtest: {total.failures} failed requests (see above)", file=sys.stderr)
        return 1
    if code != 0:
        print(f"\nloadtest: locust exited with {code}", file=sys.stderr)
        return code
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else embedded")
    parser.add_argument("-u", "--users", type=int, default=20, help="simulated phones")
    parser.add_argument("-r", "--spawn-rate", type=float, default=5, help="users started per s")
    parser.add_argument("-t", "--duration", type=int, default=60, help="seconds of load")
    parser.add_argument(
        "--bcrypt-rounds", type=int, default=12, help="the service's BCRYPT_ROUNDS (12 in prod)"
    )
    parser.add_argument(
        "--exempt-generator",
        action="store_true",
        help="exempt 127.0.0.1 from the request budgets (a capacity run, not a phone's view)",
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="replace the run's section of docs/benchmarks.md"
    )
    args = parser.parse_args()
    if args.users < 1 or args.spawn_rate <= 0 or args.duration < 1:
        parser.error("--users, --spawn-rate and --duration must be positive")
    if not 4 <= args.bcrypt_rounds <= 31:
        parser.error("--bcrypt-rounds must be within 4..31")
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop every process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp, contextlib.ExitStack() as stack:
        code = run(args, Path(tmp), stack)
    print(f"\nwhole run {time.monotonic() - started:.0f} s")
    sys.exit(code)


if __name__ == "__main__":
    main()
