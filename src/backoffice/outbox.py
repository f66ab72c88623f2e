"""What every outbox (notifications, mails) shares: rows written in the caller's
transaction, delivered after the response and by a periodic sweep.

- `Pending`: the ids an outbox wrote during one request; the first one schedules the
  delivery task (`after_response`), so a request that writes nothing costs nothing.
- `lock_due`: the claim of rows to deliver, `FOR UPDATE SKIP LOCKED`, so two workers
  or replicas never take the same row at the same time; rows another one holds are
  skipped, not waited for. Only committed rows are visible, so a rolled-back change
  leaves nothing to deliver.
- `sweep_batches` and `Sweeper`: the periodic pass over whatever the tasks left behind
  (a failure, a replica that died after its commit), batch by batch in id order.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from fastapi import BackgroundTasks, Request
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute

from backoffice.errors import keep_background_on_error


class Pending:
    """The ids written through one outbox, in order (committed or not)."""

    def __init__(self, on_first: Callable[["Pending"], None] | None = None) -> None:
        """`on_first` runs once, at the first row: it schedules delivery."""
        self._pending: list[int] = []
        self._on_first = on_first

    @property
    def pending(self) -> list[int]:
        return self._pending

    def _written(self, row_id: int) -> int:
        self._pending.append(row_id)
        if len(self._pending) == 1 and self._on_first is not None:
            self._on_first(self)
        return row_id


def after_response(
    request: Request, background: BackgroundTasks, deliver: Callable[[list[int]], Awaitable[int]]
) -> Callable[[Pending], None]:
    """The `on_first` that delivers an outbox's ids after the response.

    The task runs after the response was sent, in a session of its own; by then the
    service has committed (or rolled back, and nothing is found). It runs even when the
    route ends in a domain error after a commit.
    """

    def schedule(outbox: Pending) -> None:
        background.add_task(deliver, outbox.pending)
        keep_background_on_error(request, background)

    return schedule


def lock_due(
    columns: Sequence[InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[int],
    due: ColumnElement[bool],
    ids: Sequence[int] | None = None,
    *,
    after_id: int = 0,
    limit: int = 100,
) -> Select[Any]:
    """The due rows among `ids`, or the next `limit` after `after_id` (a sweep's batch),
    locked and in id order."""
    query = select(*columns).where(due).order_by(id_column).with_for_update(skip_locked=True)
    if ids is not None:
        return query.where(id_column.in_(ids))
    return query.where(id_column > after_id).limit(limit)


async def sweep_batches(batch: Callable[[int], Awaitable[tuple[int, int | None]]]) -> int:
    """Run `batch(after_id)` until it finds nothing; how many rows were delivered.

    `batch` returns (delivered, id of its last row, None when it found none). The id
    cursor makes one pass end even when a row keeps failing.
    """
    after_id = 0
    delivered = 0
    while True:
        done, last_id = await batch(after_id)
        if last_id is None:
            return delivered
        delivered += done
        after_id = last_id


class Sweeps(Protocol):
    async def sweep(self) -> int: ...


class Sweeper:
    """At start-up and every `interval` seconds, run one sweep; started by the lifespan."""

    def __init__(
        self, delivery: Sweeps, interval_seconds: float, *, name: str, logger: logging.Logger
    ) -> None:
        self.delivery = delivery
        self.interval_seconds = interval_seconds
        self.name = name
        self.logger = logger
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-sweeper")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def sweep_once(self) -> int:
        """One sweep pass now (what the loop runs; tests call it directly)."""
        return await self.delivery.sweep()

    async def _run(self) -> None:
        while True:
            try:
                swept = await self.sweep_once()
                if swept:
                    self.logger.info(f"{self.name} sweep", extra={"delivered": swept})
            except Exception:
                self.logger.exception(f"{self.name} sweep failed")
            await asyncio.sleep(self.interval_seconds)
