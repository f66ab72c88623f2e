"""Making a race deterministic: a change held uncommitted while a request runs into it.

`asyncio.gather` alone leaves the interleaving to chance. Here the competing change
(a DELETE or UPDATE) runs in a transaction of the test's own and stays open while the
request is sent; it commits only once the request's connection waits for that
transaction's row lock. So the request has seen the row as it was before the change,
and its write lands after the change committed: the worst interleaving, every time.
Shared with the employees tests.
"""

import asyncio
from collections.abc import Awaitable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

BLOCKED_ON_A_LOCK = """
    SELECT count(*) FROM pg_stat_activity
    WHERE application_name = 'backoffice' AND wait_event_type = 'Lock'
"""


async def _wait_until_blocked(engine: AsyncEngine, request: "asyncio.Task[Any]") -> None:
    """Until a service connection waits for a lock (or the request ended without one)."""
    async with engine.connect() as conn:
        for _ in range(1000):
            if request.done() or await conn.scalar(text(BLOCKED_ON_A_LOCK)):
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the request neither finished nor waited for the held lock")


async def commit_while_blocked(
    engine: AsyncEngine,
    statement: str,
    params: dict[str, Any],
    request: Awaitable[httpx.Response],
) -> httpx.Response:
    """Run `statement` uncommitted, send `request`, commit once the request waits on it."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text(statement), params)
        sent = asyncio.ensure_future(request)

        async def commit() -> None:
            await _wait_until_blocked(engine, sent)
            await transaction.commit()

        response, _ = await asyncio.gather(sent, commit())
    return response
