"""The pool gate: requests take a database connection in arrival order."""

import asyncio

import anyio
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backoffice.settings import Settings


class ConnectionGate:
    """First come, first served admission of requests to the connection pool.

    SQLAlchemy's async pool waits on an `asyncio.Queue`, whose waiters can be overtaken:
    a connection handed back is taken by a request that just arrived while the woken
    waiter goes back to the end of the line. At 64 connections over a pool of 15, some
    requests waited seconds (wrk: p50 54 ms, p99 1.56 s, 19 timeouts) while most went
    through. This gate, sized to the pool, hands each free slot to the longest waiter
    (anyio's semaphore), so a request waits its turn; past `DB_POOL_TIMEOUT` it gets
    the pool's own answer, 503 with `Retry-After`, never a hang.
    """

    def __init__(self, slots: int, timeout_seconds: float) -> None:
        self._slots = anyio.Semaphore(slots, fast_acquire=True)
        self.timeout_seconds = timeout_seconds

    async def acquire(self) -> None:
        """A slot, at once when one is free (no timer, the common case), else in turn."""
        try:
            self._slots.acquire_nowait()
            return
        except anyio.WouldBlock:
            pass
        try:
            # asyncio's timeout, not anyio's: ~7 µs against ~24 µs per wait, and under
            # load most requests wait here (the service runs on asyncio only).
            async with asyncio.timeout(self.timeout_seconds):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise PoolTimeout("no database connection free within DB_POOL_TIMEOUT") from exc

    def release(self) -> None:
        self._slots.release()


def create_gate(settings: Settings) -> ConnectionGate:
    return ConnectionGate(
        settings.db_pool_size + settings.db_max_overflow, settings.db_pool_timeout
    )
