"""The mail outbox: what other modules call to send a mail about an account.

Each method words its mail (`messages`), writes one `mails` row in the caller's
session (executed at once, never committed here) and returns its id; the caller
commits with its own change:

    await self.mail.password_reset(user.email, token, user_id=user.id)
    await self.session.commit()

After the response, a background task sends the ids that were committed; the sweep
sends whatever it could not (`delivery`). A rolled-back change sends nothing. Get one
in a route through `backoffice.mail.dependencies.MailOutboxDep`.
"""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.mail import messages
from backoffice.mail.messages import MailContent
from backoffice.mail.repository import MailRepository
from backoffice.outbox import Pending
from backoffice.settings import Settings


class MailOutbox(Pending):
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        on_first_mail: Callable[[Pending], None] | None = None,
    ) -> None:
        """`on_first_mail` runs once, at the first row: it schedules delivery."""
        super().__init__(on_first_mail)
        self._repo = MailRepository(session)
        self._settings = settings

    async def password_reset(self, to: str, token: str, *, user_id: int | None) -> int:
        """The reset link (`PASSWORD_RESET_URL`), valid `PASSWORD_RESET_MINUTES`."""
        return await self._write(to, user_id, self._reset_mail(to, token))

    async def password_reset_unsent(self, to: str, token: str) -> int:
        """What `password_reset` writes, for an address with no active account: the same
        mail composed and the same INSERT, of a row given up at once, without its bodies
        and scheduled for nothing. So `forgot` costs the same statements and time whether
        or not the address has an account, and nothing is sent."""
        mail = self._reset_mail(to, token)
        return await self._repo.add_given_up(to, mail.subject, "no active account")

    def _reset_mail(self, to: str, token: str) -> MailContent:
        url = messages.link(self._settings.password_reset_url, token)
        return messages.password_reset(to, url, self._settings.password_reset_minutes)

    async def password_changed(self, to: str, *, user_id: int | None) -> int:
        return await self._write(to, user_id, messages.password_changed(to))

    async def verify_email(self, to: str, token: str, *, user_id: int | None) -> int:
        """The confirmation link (`EMAIL_VERIFY_URL`), valid `EMAIL_VERIFY_HOURS`."""
        url = messages.link(self._settings.email_verify_url, token)
        hours = self._settings.email_verify_hours
        return await self._write(to, user_id, messages.verify_email(to, url, hours))

    async def email_change_notice(self, to: str, new_email: str, *, user_id: int | None) -> int:
        """To the old address: a change to `new_email` was requested."""
        return await self._write(to, user_id, messages.email_change_notice(to, new_email))

    async def _write(self, to: str, user_id: int | None, mail: MailContent) -> int:
        return self._written(await self._repo.add(user_id, to, mail.subject, mail.text, mail.html))
