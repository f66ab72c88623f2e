"""Sending committed mails: after each response, and by the periodic sweep.

A send claims its rows first (`MailRepository.claim`: locked with `FOR UPDATE SKIP
LOCKED`, the attempt counted, the row leased for as long as the sends may take) and
commits, so the SMTP conversation holds neither a lock nor a database connection, and
two workers or replicas never send one mail at the same time. Then each mail is sent
and its outcome recorded:

- sent: `sent_at` stamped, bodies erased (they hold a link, which is a credential);
- refused for good (a 5xx for the recipient or the content): given up at once;
- any other failure (server down, timeout, a 4xx): tried again after
  `RETRY_DELAYS_SECONDS[attempt - 1]` (30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 4 h),
  and given up after the 9th attempt, about 11.7 hours after the first; a given-up mail
  keeps its address, subject and last error, and loses its bodies too.

Semantics are at-least-once: a mail whose sender died between the server's acceptance
and the stamp is sent again once its lease runs out. Nothing committed is lost: a row
leaves the sweep only as sent or given up. Nothing here ever fails a request (the
response is already sent).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.mail.backends import MailBackend, PermanentFailure
from backoffice.mail.repository import MailRepository, OutgoingMail
from backoffice.outbox import Sweeper, sweep_batches
from backoffice.telemetry import span

logger = logging.getLogger("backoffice.mail")

RETRY_DELAYS_SECONDS: tuple[float, ...] = (30, 120, 600, 1800, 3600, 7200, 14400, 14400)
"""The pause after each failed attempt; one attempt more than pauses, then given up."""
SWEEP_BATCH_SIZE = 10
SEND_DEADLINE_STEPS = 3
"""A whole send (connect and TLS, authenticate, the message) is cut at this many
`SMTP_TIMEOUT_SECONDS`."""
LEASE_MARGIN_SECONDS = 60.0

SENT = Counter("backoffice_mails_sent", "Mails sent (logged, with the console backend)")
RETRIED = Counter("backoffice_mails_retried", "Mail attempts that failed and were rescheduled")
FAILED = Counter("backoffice_mails_failed", "Mails given up: refused, or out of attempts")


def retry_delay(attempts: int) -> float | None:
    """The pause after failed attempt number `attempts`; None once it was the last."""
    if attempts > len(RETRY_DELAYS_SECONDS):
        return None
    return RETRY_DELAYS_SECONDS[attempts - 1]


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class MailDelivery:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        backend: MailBackend,
        send_deadline_seconds: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.backend = backend
        self.send_deadline_seconds = send_deadline_seconds

    async def deliver(self, ids: Sequence[int]) -> int:
        """Send these ids if committed and due; how many were sent. Never raises: what
        fails is retried by the sweep."""
        try:
            with span("mail.deliver", mails=len(ids)):
                return await self._send_all(await self._claim(ids))
        except Exception:
            logger.exception("mail delivery failed", extra={"ids": list(ids)})
            return 0

    async def sweep(self) -> int:
        """Send every due mail, batch by batch in id order; how many were sent."""
        return await sweep_batches(self._sweep_batch)

    async def _sweep_batch(self, after_id: int) -> tuple[int, int | None]:
        mails = await self._claim(after_id=after_id)
        if not mails:
            return 0, None
        return await self._send_all(mails), mails[-1].id

    async def _claim(
        self, ids: Sequence[int] | None = None, *, after_id: int = 0
    ) -> list[OutgoingMail]:
        """Claim and commit; the lease covers sending the whole batch one by one."""
        count = SWEEP_BATCH_SIZE if ids is None else len(ids)
        lease = self.send_deadline_seconds * count + LEASE_MARGIN_SECONDS
        async with self.sessionmaker() as session:
            mails = await MailRepository(session).claim(
                ids, after_id=after_id, limit=SWEEP_BATCH_SIZE, lease_seconds=lease
            )
            await session.commit()
        return mails

    async def _send_all(self, mails: Sequence[OutgoingMail]) -> int:
        sent = 0
        for mail in mails:
            sent += await self._send(mail)
        return sent

    async def _send(self, mail: OutgoingMail) -> bool:
        """One attempt and its outcome; whether the mail was sent."""
        try:
            with span("mail.send", mail_id=mail.id, attempt=mail.attempts):
                async with asyncio.timeout(self.send_deadline_seconds):
                    await self.backend.send(mail)
        except PermanentFailure as exc:
            await self._give_up(mail, error_text(exc))
            return False
        except Exception as exc:
            error = error_text(exc)
            delay = retry_delay(mail.attempts)
            if delay is None:
                await self._give_up(mail, error)
                return False
            await self._record(lambda repo: repo.retry_later(mail.id, delay, error))
            RETRIED.inc()
            logger.warning(
                "mail not sent; retried later",
                extra={
                    "mail_id": mail.id,
                    "attempts": mail.attempts,
                    "retry_in_seconds": delay,
                    "error": error,
                },
            )
            return False
        await self._record(lambda repo: repo.mark_sent(mail.id))
        SENT.inc()
        return True

    async def _give_up(self, mail: OutgoingMail, error: str) -> None:
        await self._record(lambda repo: repo.give_up(mail.id, error))
        FAILED.inc()
        logger.error(
            "mail given up", extra={"mail_id": mail.id, "attempts": mail.attempts, "error": error}
        )

    async def _record(self, outcome: Callable[[MailRepository], Awaitable[None]]) -> None:
        async with self.sessionmaker() as session:
            await outcome(MailRepository(session))
            await session.commit()


class MailSweeper(Sweeper):
    def __init__(self, delivery: MailDelivery, interval_seconds: float) -> None:
        super().__init__(delivery, interval_seconds, name="mail", logger=logger)
