"""The outbox: what other modules call to notify a user about a change they made.

A service calls it inside its own transaction, before its commit:

    await self.outbox.account_created(owner.id, account.id, account.name)
    await self.session.commit()

Each call inserts an undelivered `notifications` row in the caller's session (executed
at once, never committed here) and remembers its id. After the response, a background
task delivers the remembered ids that were committed; a rolled-back change therefore
leaves no notification behind, and a committed one is never lost (the sweep delivers
whatever the task could not). Get one in a route through
`backoffice.notifications.dependencies.OutboxDep`.
"""

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.notifications.repository import NotificationRepository


class Outbox:
    def __init__(
        self,
        session: AsyncSession,
        on_first_notification: Callable[["Outbox"], None] | None = None,
    ) -> None:
        """`on_first_notification` runs once, at the first row: it schedules delivery."""
        self._repo = NotificationRepository(session)
        self._pending: list[int] = []
        self._on_first = on_first_notification

    @property
    def pending(self) -> list[int]:
        """Ids written through this outbox, in order (committed or not)."""
        return self._pending

    async def notify(
        self, user_id: int, kind: str, message: str, *, data: Mapping[str, Any] | None = None
    ) -> int:
        """Write one notification for `user_id` in the caller's transaction; its id."""
        notification_id = await self._repo.add(user_id, kind, message[:1000], data or {})
        self._pending.append(notification_id)
        if len(self._pending) == 1 and self._on_first is not None:
            self._on_first(self)
        return notification_id

    async def account_created(self, user_id: int, account_id: int, name: str) -> int:
        return await self.notify(
            user_id,
            "account_created",
            f"Account '{name}' was created",
            data={"account_id": account_id},
        )

    async def employee_added(
        self, user_id: int, account_id: int, employee_id: int, full_name: str
    ) -> int:
        return await self.notify(
            user_id,
            "employee_added",
            f"{full_name} was added to your account",
            data={"account_id": account_id, "employee_id": employee_id},
        )

    async def employee_removed(
        self, user_id: int, account_id: int, employee_id: int, full_name: str
    ) -> int:
        return await self.notify(
            user_id,
            "employee_removed",
            f"{full_name} was removed from your account",
            data={"account_id": account_id, "employee_id": employee_id},
        )

    async def password_changed(self, user_id: int) -> int:
        return await self.notify(
            user_id,
            "password_changed",
            "Your password was changed; every device was signed out",
        )

    async def refresh_token_reused(self, user_id: int) -> int:
        return await self.notify(
            user_id,
            "refresh_token_reused",
            "A spent sign-in token was presented again; that sign-in was revoked on every "
            "device. If this was not you, change your password.",
        )

    async def item_created(self, user_id: int, item_id: int, name: str) -> int:
        return await self.notify(
            user_id, "item_created", f"Item '{name}' was created", data={"item_id": item_id}
        )

    async def file_uploaded(self, user_id: int, file_id: int, filename: str) -> int:
        return await self.notify(
            user_id, "file_uploaded", f"File '{filename}' was uploaded", data={"file_id": file_id}
        )
