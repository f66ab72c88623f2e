"""SQL of the `mails` table, through the session it is given (shaped as
`notifications/`)."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.mail.models import Mail
from backoffice.outbox import lock_due
from backoffice.sql import columns_of, insert_row


class OutgoingMail(NamedTuple):
    """What sending a mail needs; `attempts` counts this one (claimed) attempt."""

    id: int
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    attempts: int


class NewId(NamedTuple):
    id: int


OUTGOING_COLUMNS = columns_of(Mail, OutgoingMail)
ERROR_LENGTH = 500


def due() -> ColumnElement[bool]:
    """Neither sent nor given up, and its time has come (no other worker's claim on it)."""
    return Mail.sent_at.is_(None) & Mail.failed_at.is_(None) & (Mail.next_attempt_at <= func.now())


ERASED = {"body_text": None, "body_html": None}
"""A mail's bodies once it is sent or given up: they held a link, a credential."""


class MailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, user_id: int | None, to: str, subject: str, text: str, html: str | None
    ) -> int:
        """Insert at once (no ORM unit of work), inside the caller's transaction."""
        values = {
            "user_id": user_id,
            "to_address": to,
            "subject": subject,
            "body_text": text,
            "body_html": html,
            "failed_at": None,
            "last_error": None,
        }
        return (await insert_row(self.session, Mail, NewId, values)).id

    async def add_given_up(self, to: str, subject: str, reason: str) -> int:
        """The same INSERT, of a row given up already and without bodies: never sent."""
        values = {
            "user_id": None,
            "to_address": to,
            "subject": subject,
            "body_text": None,
            "body_html": None,
            "failed_at": datetime.now(UTC),
            "last_error": reason,
        }
        return (await insert_row(self.session, Mail, NewId, values)).id

    async def claim(
        self,
        ids: Sequence[int] | None = None,
        *,
        after_id: int = 0,
        limit: int = 100,
        lease_seconds: float,
    ) -> list[OutgoingMail]:
        """Take the due mails among `ids` (or a sweep's batch) for one attempt each.

        One statement: the rows are locked (`FOR UPDATE SKIP LOCKED`), their attempt is
        counted, and they are leased, i.e. not due again for `lease_seconds`, so once
        the caller commits no other worker takes them while they are being sent. A
        worker that dies mid-send leaves them to be retried when the lease runs out.
        """
        claimed = lock_due(
            (Mail.id,), Mail.id, due(), ids, after_id=after_id, limit=limit
        ).scalar_subquery()
        statement = (
            update(Mail)
            .where(Mail.id.in_(claimed))
            .values(
                attempts=Mail.attempts + 1,
                next_attempt_at=func.now() + timedelta(seconds=lease_seconds),
            )
            .returning(*OUTGOING_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        rows = [OutgoingMail._make(row) for row in await self.session.execute(statement)]
        return sorted(rows, key=lambda row: row.id)

    async def mark_sent(self, mail_id: int) -> None:
        await self._set(mail_id, sent_at=func.now(), last_error=None, **ERASED)

    async def retry_later(self, mail_id: int, delay_seconds: float, error: str) -> None:
        next_attempt_at = func.now() + timedelta(seconds=delay_seconds)
        await self._set(mail_id, next_attempt_at=next_attempt_at, last_error=error[:ERROR_LENGTH])

    async def give_up(self, mail_id: int, error: str) -> None:
        await self._set(mail_id, failed_at=func.now(), last_error=error[:ERROR_LENGTH], **ERASED)

    async def _set(self, mail_id: int, **values: object) -> None:
        await self.session.execute(
            update(Mail)
            .where(Mail.id == mail_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
