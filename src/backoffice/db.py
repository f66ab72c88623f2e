"""The async engine and sessionmaker, and the one-session-per-request dependency."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Executable, Result, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backoffice.settings import Settings

logger = logging.getLogger("backoffice.db")


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
    """
    return create_async_engine(
        database_url(settings),
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


class CoreSession(AsyncSession):
    """The app's session: its statements run on its connection, past the ORM's layer.

    Every repository runs Core statements (typed column rows, `INSERT/UPDATE ...
    RETURNING`), never ORM entities, so the ORM's per-statement work (its compile state,
    row loading, the identity map) buys nothing, and cost ~80 µs per statement of the
    2-3 each request sends (in-process, one session: 310 -> 228 µs per statement). The
    statement runs on the session's own connection, inside its transaction, so commit,
    rollback, the pool and `execute_first`'s retry behave as before. A statement with
    bind arguments goes the ORM's way, as it would anywhere.
    """

    async def execute(  # type: ignore[override]  # one signature for the overloads' union
        self,
        statement: Executable,
        params: Mapping[str, Any] | None = None,
        *,
        execution_options: Mapping[str, Any] | None = None,
        bind_arguments: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Result[Any]:
        if bind_arguments or kw:
            await self.connection(bind_arguments)  # the transaction's, as a `GatedSession` needs
            return await super().execute(
                statement,
                params,
                execution_options=execution_options or {},
                bind_arguments=bind_arguments,
                **kw,
            )
        connection = await self.connection()
        return await connection.execute(statement, params, execution_options=execution_options)

    async def scalar(  # type: ignore[override]
        self,
        statement: Executable,
        params: Mapping[str, Any] | None = None,
        *,
        execution_options: Mapping[str, Any] | None = None,
        bind_arguments: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Any:
        result = await self.execute(
            statement,
            params,
            execution_options=execution_options,
            bind_arguments=bind_arguments,
            **kw,
        )
        return result.scalar()


class GatedSession(CoreSession):
    """A write's session: each of its transactions takes a turn at the pool gate.

    The turn is taken when a transaction first asks for its connection and
    given back when the transaction ends (commit, rollback, close), as the connection
    is. So writes wait for the pool in arrival order like reads (ungated, 64 concurrent
    `POST /items` saw a p99 of 3.57 s, 503s and client timeouts), and a sign-in that
    commits before bcrypt holds no turn while it hashes.
    """

    def __init__(self, *args: Any, gate: "ConnectionGate", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._gate = gate
        self._turn = False

    async def connection(
        self,
        bind_arguments: dict[str, Any] | None = None,
        execution_options: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> AsyncConnection:
        """The transaction's connection, after the transaction's turn at the gate."""
        if not self._turn:
            await self._gate.acquire()
            self._turn = True
        return await super().connection(bind_arguments, execution_options, **kw)

    async def commit(self) -> None:
        await super().commit()
        self._end_turn()  # a failed commit keeps it until the rollback

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._end_turn()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        if self._turn:
            self._turn = False
            self._gate.release()


def create_sessionmaker(
    engine: AsyncEngine, gate: "ConnectionGate | None" = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions keep loaded values after commit, so responses can be built from them.
    With a gate, a session's transactions wait their turn at it (`GatedSession`)."""
    if gate is None:
        return async_sessionmaker(
            engine, class_=CoreSession, expire_on_commit=False, autoflush=False
        )
    return async_sessionmaker(
        engine, class_=GatedSession, expire_on_commit=False, autoflush=False, gate=gate
    )


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Autocommit sessions on the same pool, for requests that only read.

    Without a transaction the driver sends no BEGIN/ROLLBACK around the statements: a
    read request costs one round trip per statement and nothing else. The
    trade-off: the user check and the read are not one snapshot (each statement sees
    the latest committed data), which no read route relies on.
    """
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


async def execute_first(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Result[Any]:
    """Execute `statement`; if it is the session's first and met a dead pooled connection, retry.

    Only a statement that opened the session's transaction is retried: nothing ran
    before it, so rolling back and running it again on a fresh connection is safe, for
    reads and for the caller check that starts every write. Any later statement's
    failure surfaces (as a 503).
    """
    first = not session.in_transaction()
    try:
        return await session.execute(statement, params)
    except DBAPIError as exc:
        if not (first and exc.connection_invalidated):
            raise
        await session.rollback()
        return await session.execute(statement, params)


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The transactional sessionmaker the app built in its lifespan."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; services commit, and anything left open is rolled back.

    The service commits inside the handler, so a failing commit raises before any
    response is built and reaches the client as an error, never after a 2xx. Safe
    methods get an autocommit session after their turn at the pool gate (`ReadSession`);
    other methods a `GatedSession`, whose transactions each take their turn.
    """
    state = request.app.state
    if request.method in READ_ONLY_METHODS:
        async with state.read_sessions() as session:
            yield session
        return
    async with state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


class ReadSession:
    """A read's session after its turn at the gate, as an `async with` block.

    The hot GETs open it themselves, inside their read service (`ReadSessions`), and
    so skip `SessionDep`: a dependency, and FastAPI's generator machinery around it (an
    exit stack, a cancel scope, a shielded exit), fewer per request.
    """

    __slots__ = ("_session", "_sessions")

    def __init__(self, sessions: "ReadSessions") -> None:
        self._sessions = sessions

    async def __aenter__(self) -> AsyncSession:
        sessions = self._sessions
        await sessions.gate.acquire()
        try:
            self._session = sessions.idle.pop() if sessions.idle else sessions.maker()
        except BaseException:
            sessions.gate.release()
            raise
        return self._session

    async def __aexit__(self, *_: object) -> None:
        sessions = self._sessions
        try:
            await self._session.close()
            sessions.idle.append(self._session)
        finally:
            sessions.gate.release()


class ReadSessions:
    """Where a read service opens its session (`async with reads() as session`).

    A closed session is kept and handed to the next read: `close()` resets it to its
    new state (SQLAlchemy's `close_resets_only`), so reuse skips building an
    `AsyncSession` and its `Session` per request. At most one per gate slot is kept;
    one whose close failed is dropped.
    """

    __slots__ = ("gate", "idle", "maker")

    def __init__(self, maker: async_sessionmaker[AsyncSession], gate: ConnectionGate) -> None:
        self.maker = maker
        self.gate = gate
        self.idle: list[AsyncSession] = []

    def __call__(self) -> ReadSession:
        return ReadSession(self)


def read_sessions_of(request: Request) -> ReadSessions:
    sessions: ReadSessions = request.app.state.read_sessions
    return sessions


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
"""`scope="function"`: the session closes (and its connection returns to the pool) when
the route returns, not after the response was sent to a possibly slow client."""

Built = TypeVar("Built")


def on_request_session(build: Callable[[AsyncSession], Built]) -> Any:
    """`Depends` on `build(session)` over the request's session: how a module's read class
    (`AccountReads`) reaches its routes, one line a module. The dependency is annotated
    with what it builds, as a hand-written one would be."""

    async def dependency(session: SessionDep) -> Built:
        return build(session)

    dependency.__annotations__["return"] = build
    return Depends(dependency)
