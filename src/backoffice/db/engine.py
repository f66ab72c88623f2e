"""The engines: the API's pool, and the readiness probe's own connection."""

from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine so that an outage or a stuck query fails fast instead of hanging.

    `statement_cache_size` 0 (asyncpg) and `prepared_statement_cache_size` 0 (SQLAlchemy)
    together make the service safe behind PgBouncer in transaction mode. The statement
    timeout is not a start-up parameter (stock PgBouncer refuses unknown ones): it is
    the role's default in the database, see `apply_statement_timeout`.

    No `pool_pre_ping`: it cost every request a round trip and ~300 µs of CPU to catch
    the rare connection that died in the pool. Instead a dead connection fails its first
    statement; SQLAlchemy then invalidates it and every connection pooled before it
    (so one PostgreSQL restart costs one failed statement, not one per connection), and
    `execute_first` retries the request's first statement once on a new connection.

    `hide_parameters`: a failed statement's error, which is logged, names no bound
    value; the values include password hashes and the mailed links' tokens.
    """
    return create_async_engine(
        database_url(settings),
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=connect_args(settings),
    )


def create_probe_engine(settings: Settings) -> AsyncEngine:
    """One autocommit connection of its own for the readiness probe, outside the API pool.

    The probe asks whether the database answers, not how long the requests' queue is:
    it never waits for (or takes) a connection an API request waits for. Pre-pinged,
    as it runs at most once a `READINESS_INTERVAL_SECONDS`: a connection that died with
    a database restart is replaced before it could report the replica unready.
    """
    return create_async_engine(
        database_url(settings),
        hide_parameters=True,
        pool_size=1,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=1800,
        isolation_level="AUTOCOMMIT",
        connect_args=connect_args(settings),
    )


def database_url(settings: Settings) -> URL:
    return make_url(settings.async_database_url).update_query_dict(
        {"prepared_statement_cache_size": str(settings.db_statement_cache_size)}
    )


def connect_args(settings: Settings) -> dict[str, Any]:
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": settings.db_command_timeout,
        "statement_cache_size": settings.db_statement_cache_size,
        "server_settings": {"application_name": "backoffice"},
    }
