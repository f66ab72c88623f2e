"""SQL of the `notifications` table, through the session it is given (shaped as
`accounts/`)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.notifications.models import Notification
from backoffice.notifications.schemas import NotificationQuery
from backoffice.outbox import lock_due
from backoffice.pagination import SortOrder
from backoffice.sql import columns_of, fetch_page, insert_row, ordered, typed, update_row


class NotificationRow(NamedTuple):
    """A notification as its user sees it (`NotificationRead`'s fields)."""

    id: int
    kind: str
    message: str
    data: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None


class DeliveryRow(NamedTuple):
    """What delivering a notification publishes."""

    id: int
    user_id: int
    kind: str
    message: str
    data: dict[str, Any]


class NewId(NamedTuple):
    id: int


READ_COLUMNS = columns_of(Notification, NotificationRow)
DELIVERY_COLUMNS = columns_of(Notification, DeliveryRow)


def users(user_id: int, notification_id: int) -> ColumnElement[bool]:
    """A notification is only ever addressed as one of its user's."""
    return (Notification.id == notification_id) & (Notification.user_id == user_id)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, kind: str, message: str, data: Mapping[str, Any]) -> int:
        """Insert at once (no ORM unit of work), inside the caller's transaction."""
        values = {"user_id": user_id, "kind": kind, "message": message, "data": dict(data)}
        return (await insert_row(self.session, Notification, NewId, values)).id

    async def get(self, user_id: int, notification_id: int) -> NotificationRow | None:
        query = select(*READ_COLUMNS).where(users(user_id, notification_id))
        return typed(NotificationRow, (await self.session.execute(query)).one_or_none())

    async def list(
        self, user_id: int, query: NotificationQuery
    ) -> tuple[list[NotificationRow], int]:
        """Newest first."""
        stmt = ordered(
            select(*READ_COLUMNS), Notification.created_at, SortOrder.DESC, Notification.id
        )
        stmt = stmt.where(Notification.user_id == user_id)
        if query.unread is True:
            stmt = stmt.where(Notification.read_at.is_(None))
        elif query.unread is False:
            stmt = stmt.where(Notification.read_at.is_not(None))
        return await fetch_page(self.session, stmt, query.page, NotificationRow)

    async def mark_read(self, user_id: int, notification_id: int) -> bool:
        """Stamp `read_at` the first time; marking again keeps the first stamp."""
        stamp = {"read_at": func.coalesce(Notification.read_at, func.now())}
        where = users(user_id, notification_id)
        return await update_row(self.session, Notification, NewId, where, stamp) is not None

    async def stamp_undelivered(
        self, ids: Sequence[int] | None = None, *, after_id: int = 0, limit: int = 100
    ) -> Sequence[DeliveryRow]:
        """Stamp undelivered rows delivered and return them, in id order, in one statement.

        The stamp holds only once the caller commits, which it does after publishing them
        (so a crash in between publishes them again: at least once). The rows are locked
        until then (`outbox.lock_due`: rows another worker holds are skipped, not waited
        for). Only committed rows are visible here, so a notification whose change was
        rolled back is never delivered.
        """
        undelivered = Notification.delivered_at.is_(None)
        locked = lock_due(
            (Notification.id,), Notification.id, undelivered, ids, after_id=after_id, limit=limit
        )
        statement = (
            update(Notification)
            .where(Notification.id.in_(locked))
            .values(delivered_at=func.now())
            .returning(*DELIVERY_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        return sorted(DeliveryRow._make(row) for row in await self.session.execute(statement))

    async def unstamp(self, ids: Sequence[int]) -> None:
        """Undo `stamp_undelivered` for rows whose publishing failed: the sweep retries them."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(delivered_at=None)
            .execution_options(synchronize_session=False)
        )
