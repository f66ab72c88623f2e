"""Readiness: the database answers quickly and the process is not draining."""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.errors import DATABASE_ERRORS
from backoffice.health.repository import select_one

logger = logging.getLogger("backoffice.health")

READY_TIMEOUT_SECONDS = 2.0


async def database_answers(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), sessionmaker() as session:
            await select_one(session)
    except DATABASE_ERRORS as exc:
        logger.warning("readiness check failed: %r", exc)
        return False
    return True
