"""Rolling restarts behind nginx under load lose nothing, with one worker or two."""

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.e2e.api import Member, sign_up
from tests.e2e.load import Load
from tests.e2e.stack import Stack

SETTLE_SECONDS = 2.5
"""After a replica is ready again, before the next one goes down: as an operator
waits for one healthy check more."""


def rolling_restart(stack: Stack) -> None:
    for replica in stack.replicas:
        stack.restart(replica)
        time.sleep(SETTLE_SECONDS)


async def undelivered(stack: Stack, messages: list[str]) -> tuple[int, int]:
    """(acknowledged messages not stored, stored notifications not delivered)."""
    connection = await asyncpg.connect(stack.direct_url)
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM notifications WHERE message = ANY($1::text[])", messages
        )
        pending = await connection.fetchval(
            "SELECT count(*) FROM notifications WHERE delivered_at IS NULL"
        )
    finally:
        await connection.close()
    return len(messages) - stored, pending


async def names_read_back(stack: Stack, load: Load, reader: Member) -> dict[int, str]:
    """Every acknowledged item, read through nginx (16 at a time)."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=f"{stack.nginx.base_url}/api/v1", timeout=30) as client:

        async def read(item_id: int) -> tuple[int, str]:
            async with gate:
                response = await client.get(f"/items/{item_id}", headers=reader.headers)
            return item_id, response.json()["name"] if response.status_code == 200 else ""

        return dict(await asyncio.gather(*(read(item_id) for item_id in load.items)))


@pytest.mark.parametrize("workers", [1, 2])
async def test_rolling_restart_under_load_loses_nothing(stack: Stack, workers: int) -> None:
    stack.serve(through="pgbouncer", workers=workers)
    members = [sign_up(stack.nginx.base_url) for _ in range(8)]
    load = Load(stack.nginx.base_url, members, clients=32, max_seconds=90)
    running = asyncio.create_task(load.run())
    try:
        await asyncio.sleep(1)
        await asyncio.to_thread(rolling_restart, stack)
    finally:
        load.stop.set()
        await running

    print(load.summary())
    failures = [outcome.describe() for outcome in load.failures]
    assert failures == [], f"{len(failures)}/{len(load.outcomes)}: {failures[:10]}\n{stack.logs()}"
    assert load.items
    assert load.messages
    assert await names_read_back(stack, load, members[0]) == load.items
    for _ in range(60):
        missing, pending = await undelivered(stack, load.messages)
        if (missing, pending) == (0, 0):
            break
        await asyncio.sleep(0.5)
    assert (missing, pending) == (0, 0)
