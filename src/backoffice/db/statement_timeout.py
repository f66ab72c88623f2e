"""`DB_STATEMENT_TIMEOUT_MS`: made the role's default by `backoffice migrate`, and checked
at start-up."""

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.db.engine import create_engine
from backoffice.settings import Settings

logger = logging.getLogger("backoffice.db")


ROLE_DEFAULT_STATEMENT_TIMEOUT = (
    "DO $$ BEGIN EXECUTE format("
    "'ALTER ROLE CURRENT_USER IN DATABASE %I SET statement_timeout = %s', "
    "current_database(), {ms}); END $$"
)
"""A DO block, because ALTER ROLE takes neither bind parameters nor `current_database()`."""


async def apply_statement_timeout(settings: Settings) -> None:
    """Make `DB_STATEMENT_TIMEOUT_MS` the default of every new session of this role here.

    A role setting is applied by the server itself when a session starts, so it holds
    for direct connections and for PgBouncer's server connections alike, and costs no
    round trip per request. Any role may set its own defaults; `backoffice migrate`
    calls this, so a changed value takes effect for connections opened after it.
    """
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            ms = int(settings.db_statement_timeout_ms)
            await conn.execute(text(ROLE_DEFAULT_STATEMENT_TIMEOUT.format(ms=ms)))
    finally:
        await engine.dispose()


SESSION_STATEMENT_TIMEOUT = text(
    "SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'"
)
"""`SHOW statement_timeout` in milliseconds (`SHOW` answers `15s`, `0`, `300ms`)."""


async def warn_on_statement_timeout(engine: AsyncEngine, settings: Settings) -> None:
    """Log one warning when the database's statement timeout for the service's sessions
    is not `DB_STATEMENT_TIMEOUT_MS`.

    The setting takes effect only through `backoffice migrate`, as the role's default
    (`apply_statement_timeout`): a replica started with another value would believe a
    timeout the database does not apply. Asked once, at start-up, on one new session
    (which then stays pooled for the first request). With the database unreachable, start-up
    goes on (requests answer 503 until it is back) and the check is skipped with a debug line.
    """
    try:
        async with engine.connect() as conn:
            actual = await conn.scalar(SESSION_STATEMENT_TIMEOUT)
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        logger.debug("statement timeout not checked: database unreachable (%s)", exc)
        return
    wanted = settings.db_statement_timeout_ms
    if actual != wanted:
        logger.warning(
            "The database's statement_timeout for this service's sessions is %s ms, but "
            "DB_STATEMENT_TIMEOUT_MS is %s: the setting applies only once `backoffice "
            "migrate` has run with it; run `backoffice migrate` with "
            "DB_STATEMENT_TIMEOUT_MS=%s to make it the database's",
            actual,
            wanted,
            wanted,
            extra={
                "event": "statement_timeout_mismatch",
                "database_statement_timeout_ms": actual,
                "db_statement_timeout_ms": wanted,
            },
        )
