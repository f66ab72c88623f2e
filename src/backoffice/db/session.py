"""The app's sessions: reads and writes open them the same way, and each of their
transactions waits its turn at the pool gate."""

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Executable, Result, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from backoffice.db.gate import ConnectionGate, create_gate
from backoffice.errors import DomainError, Unauthorized
from backoffice.models import Base
from backoffice.settings import Settings


class GatedSession(AsyncSession):
    """The app's session: Core statements on its connection, and a gate turn per transaction.

    Every repository runs Core statements (typed column rows, `INSERT/UPDATE ...
    RETURNING`), never ORM entities, so `execute` sends them on the session's connection,
    inside its transaction, past the ORM's per-statement work (its compile state, row
    loading, the identity map), which buys nothing here: in-process `POST /items` (four
    statements with its delivery) took 2,762 / 2,750 µs of CPU a request with it and
    3,422 / 3,174 µs without, alternating. A statement with bind arguments goes the ORM's
    way, as it would anywhere; either way its first call of `connection()` takes the turn.

    The turn at the gate is taken when a transaction first asks for its connection and
    given back when the transaction ends (commit, rollback, close), as the connection
    is. So requests wait for the pool in arrival order (ungated, 64 concurrent `POST
    /items` saw a p99 of 3.57 s, 503s and client timeouts), and a sign-in that commits
    before bcrypt holds no turn while it hashes.
    """

    def __init__(self, *args: Any, gate: ConnectionGate, **kw: Any) -> None:
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
            await self.connection(bind_arguments)  # the turn, before the ORM's way
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


def gated_sessionmaker(
    engine: AsyncEngine, gate: ConnectionGate
) -> async_sessionmaker[AsyncSession]:
    """Sessions keep loaded values after commit, so responses can be built from them."""
    return async_sessionmaker(
        engine, class_=GatedSession, expire_on_commit=False, autoflush=False, gate=gate
    )


class Database:
    """Where every session comes from (`app.state.db`): `async with db.read() as session`
    for a request that only reads, `async with db.write() as session` for the rest; both
    wait their turn at the one gate the same way (`GatedSession`).

    A read session is autocommit: the driver sends no BEGIN/ROLLBACK around its
    statements, so a read costs one round trip per statement and nothing else. The
    trade-off: the caller check and the read are not one snapshot (each statement sees
    the latest committed data), which no read route relies on.

    A session is built per block, not kept for reuse: the pool of idle read sessions
    this replaced measured within the spread between runs (callgrind, in-process item
    GET: 1,908,000 instructions a request with it, 1,968,000 without, while a variant
    of this shape that does strictly less measured 69,000 more than it).
    """

    __slots__ = ("gate", "read", "write")

    def __init__(self, engine: AsyncEngine, gate: ConnectionGate) -> None:
        self.gate = gate
        self.write = gated_sessionmaker(engine, gate)
        self.read = gated_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), gate)

    @classmethod
    def of(cls, engine: AsyncEngine, settings: Settings) -> "Database":
        return cls(engine, create_gate(settings))


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


def database_of(request: Request) -> Database:
    """The app's `Database`, built in its lifespan."""
    db: Database = request.app.state.db
    return db


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The transactional sessions, for work in sessions of its own (idempotency keys,
    delivery after the response)."""
    return database_of(request).write


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; services commit, and closing rolls back anything left open.

    The service commits inside the handler, so a failing commit raises before any
    response is built and reaches the client as an error, never after a 2xx. Safe
    methods get a read session, the others a write session.
    """
    db = database_of(request)
    if request.method in READ_ONLY_METHODS:
        async with db.read() as session:
            yield session
        return
    async with db.write() as session:
        try:
            yield session
        except (IntegrityError, DomainError) as exc:
            if broke_constraint(exc) and await caller_deleted(session, request):
                raise Unauthorized() from exc
            raise


def broke_constraint(exc: Exception) -> bool:
    """A broken constraint, or the domain error a service made of one (`integrity_errors`:
    a parent deleted meanwhile is its 404)."""
    return isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError)


async def caller_deleted(session: AsyncSession, request: Request) -> bool:
    """Whether the request's caller is gone: then a write's broken constraint was a
    foreign key to the caller's rows, deleted after the caller check passed.

    Such a write is refused as any deleted user's token is, with 401, not a 500: its
    transaction failed, so nothing of it is stored. Asked only once a write failed, so
    no other write pays for it. Not a `FOR KEY SHARE` lock on the caller's row in every
    write's check instead: two writes of one user that then lock the row `FOR UPDATE`
    (a password change, a deletion, an admin's update) would deadlock.
    """
    caller = request.scope.get("state", {}).get("user_id")
    if caller is None:
        return False
    await session.rollback()
    users = Base.metadata.tables["users"]
    return await session.scalar(select(users.c.id).where(users.c.id == caller)) is None


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
