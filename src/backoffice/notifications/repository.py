"""SQL of the `notifications` table, through the session it is given."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.notifications.models import Notification
from backoffice.pagination import PageParams
from backoffice.sql import fetch_page

READ_COLUMNS = (
    Notification.id,
    Notification.kind,
    Notification.message,
    Notification.data,
    Notification.created_at,
    Notification.delivered_at,
    Notification.read_at,
)
DELIVERY_COLUMNS = (
    Notification.id,
    Notification.user_id,
    Notification.kind,
    Notification.message,
    Notification.data,
)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user_id: int, kind: str, message: str, data: Mapping[str, Any]) -> int:
        """Insert at once (no ORM unit of work), inside the caller's transaction."""
        new_id: int = (
            await self.session.execute(
                insert(Notification)
                .values(user_id=user_id, kind=kind, message=message, data=dict(data))
                .returning(Notification.id)
            )
        ).scalar_one()
        return new_id

    async def get(self, user_id: int, notification_id: int) -> Row[*tuple[Any, ...]] | None:
        return (
            await self.session.execute(
                select(*READ_COLUMNS).where(
                    Notification.id == notification_id, Notification.user_id == user_id
                )
            )
        ).one_or_none()

    async def list(
        self, user_id: int, page: PageParams, unread: bool | None
    ) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
        query = (
            select(*READ_COLUMNS)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        )
        if unread is True:
            query = query.where(Notification.read_at.is_(None))
        elif unread is False:
            query = query.where(Notification.read_at.is_not(None))
        return await fetch_page(self.session, query, page)

    async def mark_read(self, user_id: int, notification_id: int) -> bool:
        """Stamp `read_at` the first time; marking again keeps the first stamp."""
        found = await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.user_id == user_id)
            .values(read_at=func.coalesce(Notification.read_at, func.now()))
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        return found.scalar_one_or_none() is not None

    async def lock_undelivered(
        self, ids: Sequence[int] | None = None, *, after_id: int = 0, limit: int = 100
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """Undelivered rows, locked; rows another worker holds are skipped, not waited for.

        Only committed rows are visible here, so a notification whose change was rolled
        back is never delivered.
        """
        query = (
            select(*DELIVERY_COLUMNS)
            .where(Notification.delivered_at.is_(None))
            .order_by(Notification.id)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            query = query.where(Notification.id.in_(ids))
        else:
            query = query.where(Notification.id > after_id).limit(limit)
        return (await self.session.execute(query)).all()

    async def mark_delivered(self, ids: Sequence[int]) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(delivered_at=func.now())
            .execution_options(synchronize_session=False)
        )
