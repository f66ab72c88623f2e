"""A flood of `GET /health/ready` costs the database one probe, and a busy pool is no
outage: readiness through a real `backoffice serve`."""

import asyncio
import re
from collections.abc import Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.api import sign_up
from tests.e2e.conftest import Server
from tests.e2e.stack import Stack

FLOOD = 300
PROBE_LINE = re.compile(r'^backoffice_readiness_probes_total\{result="(\w+)"\} (\S+)$', re.M)


def probes(base_url: str) -> float:
    """Every probe this process sent, whatever its result."""
    metrics = httpx.get(f"{base_url}/metrics", timeout=10).text
    counts = [float(count) for _, count in PROBE_LINE.findall(metrics)]
    assert counts, "no backoffice_readiness_probes_total in /metrics"
    return sum(counts)


async def flood(url: str, requests: int, concurrency: int) -> list[int]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        responses = await asyncio.gather(*(client.get(url) for _ in range(requests)))
    return [response.status_code for response in responses]


async def test_a_readiness_flood_sends_the_database_one_probe(
    start_server: Callable[..., Server],
) -> None:
    # LOG_LEVEL: the fixture pipes the server's output, unread; 300 access-log lines fill it.
    _, base_url = start_server(
        READINESS_INTERVAL_SECONDS="60", RATE_LIMIT_ENABLED="false", LOG_LEVEL="WARNING"
    )
    statuses = await flood(f"{base_url}/health/ready", FLOOD, concurrency=50)
    assert statuses == [200] * FLOOD
    assert probes(base_url) == 1


async def test_readiness_does_not_wait_for_the_api_pool(
    start_server: Callable[..., Server], engine: AsyncEngine
) -> None:
    """The pool's only connection is held by a write blocked on a row lock: the replica
    is busy, not unready."""
    _, base_url = start_server(
        DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="10", RATE_LIMIT_ENABLED="false"
    )
    member = sign_up(base_url)
    async with engine.connect() as blocker, httpx.AsyncClient(timeout=30) as client:
        await blocker.execute(
            text("SELECT id FROM users WHERE email = :email FOR UPDATE"), {"email": member.email}
        )
        blocked = asyncio.create_task(
            client.patch(
                f"{base_url}/api/v1/users/me", json={"full_name": "Held"}, headers=member.headers
            )
        )
        await asyncio.sleep(1)  # the PATCH holds the pool's connection, waiting on the lock
        ready = await client.get(f"{base_url}/health/ready")
        await blocker.rollback()
        patched = await blocked
    assert patched.status_code == 200
    assert ready.status_code == 200


def test_nginx_does_not_expose_readiness(stack: Stack) -> None:
    stack.serve()
    ready = httpx.get(f"{stack.nginx.base_url}/health/ready", timeout=30)
    assert ready.status_code == 404
    assert ready.json()["code"] == "not_found"
