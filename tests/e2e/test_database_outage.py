"""PostgreSQL stops for 5 s under load and starts again, directly and behind PgBouncer.

Clients see only the app's JSON 503 with `Retry-After` meanwhile (never nginx's HTML,
never a 500, never a hang), and the service recovers by itself.
"""

import asyncio
import time

import httpx
import pytest

from tests.e2e.api import sign_up
from tests.e2e.load import Load, Outcome
from tests.e2e.stack import Stack

OUTAGE_SECONDS = 5
RECOVERY_SECONDS = 3
"""The first success must come within this long after PostgreSQL accepts again."""


def is_json_503(outcome: Outcome) -> bool:
    return (
        outcome.status == 503
        and outcome.content_type == "application/json"
        and outcome.code == "service_unavailable"
        and outcome.retry_after is not None
        and int(outcome.retry_after) > 0
    )


async def poll_readiness(
    url: str, samples: list[tuple[float, int | None]], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            try:
                status: int | None = (await client.get(f"{url}/health/ready")).status_code
            except httpx.HTTPError:
                status = None
            samples.append((time.monotonic(), status))
            await asyncio.sleep(0.25)


async def first_success_after(load: Load, moment: float, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(o.ok and o.finished > moment for o in load.outcomes):
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("through", ["direct", "pgbouncer"])
async def test_postgres_restart_under_load_is_json_503s_then_recovery(
    stack: Stack, through: str
) -> None:
    stack.serve(through=through)
    members = [sign_up(stack.nginx.base_url) for _ in range(4)]
    load = Load(stack.nginx.base_url, members, clients=16, max_seconds=60, timeout=20)
    readiness: list[tuple[float, int | None]] = []
    running = asyncio.create_task(load.run())
    polling = asyncio.create_task(poll_readiness(stack.replicas[0].base_url, readiness, load.stop))
    try:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(stack.postgres.stop)
        stopped_at = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(stack.postgres.start)
        accepting_at = time.monotonic()
        await first_success_after(load, accepting_at, within=15)
        await asyncio.sleep(2)
    finally:
        load.stop.set()
        await asyncio.gather(running, polling)
        if not stack.postgres.running:
            stack.postgres.start()

    print(load.summary(), f"PostgreSQL down {accepting_at - stopped_at:.1f} s")
    unexpected = [o.describe() for o in load.failures if not is_json_503(o)]
    assert unexpected == [], f"{unexpected[:10]}\n{stack.logs()}"
    assert any(is_json_503(o) for o in load.outcomes if stopped_at < o.finished < accepting_at)
    first_success = min(o.finished for o in load.outcomes if o.ok and o.finished > accepting_at)
    print(f"first success {first_success - accepting_at:.2f} s after PostgreSQL accepted")
    assert first_success - accepting_at <= RECOVERY_SECONDS
    assert 503 in {status for moment, status in readiness if stopped_at < moment < accepting_at}
    assert readiness[-1][1] == 200
