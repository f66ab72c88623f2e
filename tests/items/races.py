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


async def _wait_until_blocked(engine: AsyncEngine, requests: "list[asyncio.Task[Any]]") -> None:
    """Until every request still running waits for a lock (or they all ended without one)."""
    async with engine.connect() as conn:
        for _ in range(1000):
            running = sum(not request.done() for request in requests)
            if running == 0 or await conn.scalar(text(BLOCKED_ON_A_LOCK)) >= running:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the requests neither finished nor waited for the held lock")


async def commit_while_blocked(
    engine: AsyncEngine,
    statement: str,
    params: dict[str, Any],
    request: Awaitable[httpx.Response],
) -> httpx.Response:
    """Run `statement` uncommitted, send `request`, commit once the request waits on it."""
    (response,) = await commit_while_all_blocked(engine, statement, params, request)
    return response


async def commit_while_all_blocked(
    engine: AsyncEngine,
    statement: str,
    params: dict[str, Any],
    *requests: Awaitable[httpx.Response],
) -> list[httpx.Response]:
    """`commit_while_blocked` for requests sent at once: the commit waits for them all,
    so they compete for the rows only once it is made, none of them ahead."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text(statement), params)
        sent = [asyncio.ensure_future(request) for request in requests]

        async def commit() -> None:
            await _wait_until_blocked(engine, sent)
            await transaction.commit()

        *responses, _ = await asyncio.gather(*sent, commit())
    return responses
