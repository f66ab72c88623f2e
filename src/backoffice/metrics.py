"""Prometheus metrics of this process; each replica is scraped on its own."""

from functools import cache

from anyio import to_thread
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

REQUESTS = Counter("backoffice_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "backoffice_request_duration_seconds",
    "Server-side HTTP request duration",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL_SIZE = Gauge("backoffice_db_pool_size", "Connections the pool keeps open")
DB_POOL_CHECKED_OUT = Gauge("backoffice_db_pool_checked_out", "Connections in use")
READINESS_PROBES = Counter(
    "backoffice_readiness_probes_total",
    "Database probes sent for /health/ready (at most one per READINESS_INTERVAL_SECONDS)",
    ["result"],
)
READINESS_CHANGES = Counter(
    "backoffice_readiness_changes",
    "Probe answers that differed from the one before (ready to unready or back): "
    "a replica that keeps changing is flapping",
)

RATELIMIT_STORAGE_ERRORS = Counter(
    "backoffice_ratelimit_storage_errors",
    "Calls to the rate-limit store (RATE_LIMIT_STORAGE_URL) that failed or timed out",
)
RATELIMIT_STORAGE_FALLBACK = Gauge(
    "backoffice_ratelimit_storage_fallback",
    "1 while this process counts request budgets locally because the store is down",
)
RATELIMIT_STORAGE_FALLBACK_SECONDS = Counter(
    "backoffice_ratelimit_storage_fallback_seconds",
    "Seconds this process has counted request budgets locally because the store was down",
)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
"""The label of every other method (PROPFIND, PURGE, ...): a client chooses the method,
and each one a label would add a series per route and status."""


@cache
def request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The labelled children, kept: `labels()` takes a lock and builds its key on every
    call. Bounded like the series themselves (routes are templates, not paths, and
    unknown methods are one label)."""
    labels = (method, route, str(status))
    return REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    if method not in KNOWN_METHODS:
        method = OTHER_METHOD
    requests, duration = request_series(method, route, status)
    requests.inc()
    duration.observe(seconds)


async def exposition(engine: AsyncEngine) -> tuple[bytes, str]:
    """The text format, with the pool gauges read at scrape time.

    Rendered in a worker thread: it walks every series under the registry's locks, and
    a scrape must not hold the event loop while it does.
    """
    pool = engine.pool
    DB_POOL_SIZE.set(getattr(pool, "size", lambda: 0)())
    DB_POOL_CHECKED_OUT.set(getattr(pool, "checkedout", lambda: 0)())
    return await to_thread.run_sync(generate_latest), CONTENT_TYPE_LATEST
