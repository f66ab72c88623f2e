"""Readiness: the database answers quickly and the process is not draining.

However often `/health/ready` is asked, each process sends the database at most one
probe per `READINESS_INTERVAL_SECONDS`: callers within the interval get the last
answer, and callers while a probe runs wait for that one (single flight). The probe
has a connection of its own (`create_probe_engine`), so it never waits behind API
requests for the pool, and a busy pool does not make the replica unready.
"""

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.errors import DATABASE_ERRORS
from backoffice.health.repository import select_one
from backoffice.metrics import READINESS_CHANGES, READINESS_PROBES

logger = logging.getLogger("backoffice.health")

READY_TIMEOUT_SECONDS = 2.0


class Readiness:
    def __init__(self, engine: AsyncEngine, interval_seconds: float) -> None:
        self.engine = engine
        self.interval_seconds = interval_seconds
        self._answer = False
        self._answered_at: float | None = None
        self._probe: asyncio.Task[bool] | None = None

    async def database_answers(self) -> bool:
        answered_at = self._answered_at
        if answered_at is not None and time.monotonic() - answered_at < self.interval_seconds:
            return self._answer
        if self._probe is None:
            self._probe = asyncio.create_task(self._run_probe())
        # Shielded: a caller that goes away does not cancel the probe the others await.
        return await asyncio.shield(self._probe)

    async def _run_probe(self) -> bool:
        try:
            answer = await self._probe_once()
        finally:
            self._probe = None
        if self._answered_at is not None and answer != self._answer:
            READINESS_CHANGES.inc()
        self._answer, self._answered_at = answer, time.monotonic()
        READINESS_PROBES.labels("ok" if answer else "unavailable").inc()
        return answer

    async def _probe_once(self) -> bool:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), self.engine.connect() as conn:
                await select_one(conn)
        except DATABASE_ERRORS as exc:
            logger.warning("readiness check failed: %r", exc)
            return False
        return True
