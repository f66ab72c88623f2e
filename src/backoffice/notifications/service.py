"""Rules of the notification API: the caller's list, marking read, sending a message."""

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.errors import Forbidden, NotFound
from backoffice.notifications.outbox import Outbox
from backoffice.notifications.repository import NotificationRepository, NotificationRow
from backoffice.notifications.schemas import NotificationCreate, NotificationQuery
from backoffice.principal import Principal
from backoffice.users.service import UserLookup

MESSAGE_KIND = "message"


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "Notification not found"


class CannotNotifyOthers(Forbidden):
    code = "cannot_notify_others"
    message = "Only an admin may notify another user"


class NotificationReads:
    """The caller's notifications, in the request's session: no outbox, no delivery."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = NotificationRepository(session)

    async def list(
        self, user: Principal, query: NotificationQuery
    ) -> tuple[list[NotificationRow], int]:
        """Newest first. `unread=True`: not yet read; `False`: read; `None`: all."""
        return await self.repo.list(user.id, query)


class NotificationService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = NotificationRepository(session)

    async def mark_read(self, user: Principal, notification_id: int) -> None:
        """ "Read" means the user has seen it: `read_at` is stamped once, idempotently.

        Another user's notification is not found, like one that does not exist.
        """
        if not await self.repo.mark_read(user.id, notification_id):
            raise NotificationNotFound()
        await self.session.commit()

    async def send(self, sender: Principal, data: NotificationCreate) -> NotificationRow:
        """A message to oneself, or (admin) to anyone; delivered after the response.

        A non-admin naming another user gets 403 whether or not that user exists, so
        the answer reveals nothing; an admin naming an unknown user gets 404.
        """
        recipient = sender.id if data.user_id is None else data.user_id
        if recipient != sender.id:
            if not sender.is_admin:
                raise CannotNotifyOthers()
            await UserLookup(self.session).read(recipient)
        notification_id = await self.outbox.notify(
            recipient, MESSAGE_KIND, data.message, data={"from_user_id": sender.id}
        )
        row = await self.repo.get(recipient, notification_id)
        if row is None:  # pragma: no cover - written just above, in this transaction
            raise NotificationNotFound()
        await self.session.commit()
        return row
