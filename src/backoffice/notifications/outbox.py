"""The outbox: what other modules call to notify a user about a change they made.

A service words its own event and calls the one generic `notify` inside its own
transaction, before its commit, so a new module never edits this package:

    await self.outbox.notify(owner.id, "account_created", f"Account '{name}' was created",
                             data={"account_id": account.id})
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
from backoffice.outbox import Pending


class Outbox(Pending):
    def __init__(
        self,
        session: AsyncSession,
        on_first_notification: Callable[[Pending], None] | None = None,
    ) -> None:
        """`on_first_notification` runs once, at the first row: it schedules delivery."""
        super().__init__(on_first_notification)
        self._repo = NotificationRepository(session)

    async def notify(
        self, user_id: int, kind: str, message: str, *, data: Mapping[str, Any] | None = None
    ) -> int:
        """Write one notification for `user_id` in the caller's transaction; its id.

        `kind` is the event's snake_case name, `message` the text the user reads (cut at
        1000 characters), `data` the ids a client needs to follow the event up.
        """
        return self._written(await self._repo.add(user_id, kind, message[:1000], data or {}))
