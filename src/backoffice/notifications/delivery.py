"""Delivery of committed notifications: after each response, and by the periodic sweep.

Delivery means: publish one structured log line per notification, and stamp
`delivered_at` in a transaction committed once it is published. It runs in a session of
its own from the app's sessionmaker (never the request's) and locks the rows it delivers
with `FOR UPDATE SKIP LOCKED`, so two workers or replicas never deliver the same row twice
at the same time.

Semantics are at-least-once: the stamp commits after the notification was published, so
a crash between the two publishes it again at the next sweep; nothing committed is lost.
A failure is logged and counted, retried a few times by the task, and left for the
sweep after that; it never turns into a failed request (the response is already sent).
"""

import asyncio
import logging
from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.notifications.repository import DeliveryRow, NotificationRepository
from backoffice.outbox import Sweeper, sweep_batches
from backoffice.telemetry import span

logger = logging.getLogger("backoffice.notifications")

RETRY_DELAYS_SECONDS: tuple[float, ...] = (0.1, 0.5)
"""Pauses before the task's second and third attempts; after those, the sweep retries."""
SWEEP_BATCH_SIZE = 100

DELIVERED = Counter("backoffice_notifications_delivered", "Notifications delivered")
FAILED = Counter("backoffice_notifications_failed", "Notification delivery attempts that failed")


async def publish(notification: DeliveryRow) -> None:
    """Deliver one notification: today, one structured log line (the channel to replace)."""
    logger.info(
        "notification delivered",
        extra={
            "event": "notification_delivered",
            "notification_id": notification.id,
            "user_id": notification.user_id,
            "kind": notification.kind,
            "text": notification.message,
            "data": notification.data,
        },
    )


class NotificationDelivery:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def deliver(self, ids: Sequence[int]) -> int:
        """Deliver these ids if committed and undelivered; how many were delivered.

        Retries the failed ones a bounded number of times, then leaves them to the sweep.
        Never raises. Traced as a child of the request that queued them, when there was one.
        """
        with span("notifications.deliver", notifications=len(ids)):
            return await self._deliver(ids)

    async def _deliver(self, ids: Sequence[int]) -> int:
        remaining = list(ids)
        delivered = 0
        for delay in (0.0, *RETRY_DELAYS_SECONDS):
            if not remaining:
                break
            if delay:
                await asyncio.sleep(delay)
            try:
                done, remaining = await self._deliver_batch(remaining)
            except Exception:
                FAILED.inc()
                logger.exception("notification delivery failed", extra={"ids": remaining})
                continue
            delivered += done
        if remaining:
            logger.warning("notifications left for the sweep", extra={"ids": remaining})
        return delivered

    async def sweep(self) -> int:
        """Deliver every row left undelivered, batch by batch in id order; how many.

        A row that fails again stays undelivered for the next sweep.
        """
        return await sweep_batches(self._sweep_batch)

    async def _sweep_batch(self, after_id: int) -> tuple[int, int | None]:
        async with self.sessionmaker() as session:
            rows = await NotificationRepository(session).stamp_undelivered(
                after_id=after_id, limit=SWEEP_BATCH_SIZE
            )
            if not rows:
                return 0, None
            done, _ = await self._publish(session, rows)
            return done, rows[-1].id

    async def _deliver_batch(self, ids: Sequence[int]) -> tuple[int, list[int]]:
        async with self.sessionmaker() as session:
            rows = await NotificationRepository(session).stamp_undelivered(ids)
            return await self._publish(session, rows)

    async def _publish(
        self, session: AsyncSession, rows: Sequence[DeliveryRow]
    ) -> tuple[int, list[int]]:
        """Publish each stamped row, unstamp the failed ones, commit; (delivered, failed ids).

        Stamping first and committing after publishing (rather than locking, publishing,
        then stamping) is one statement and two round trips fewer per delivery.
        """
        failed: list[int] = []
        for row in rows:
            try:
                await publish(row)
            except Exception:
                FAILED.inc()
                logger.exception("notification delivery failed", extra={"notification_id": row.id})
                failed.append(row.id)
        if failed:
            await NotificationRepository(session).unstamp(failed)
        await session.commit()
        delivered = len(rows) - len(failed)
        DELIVERED.inc(delivered)
        return delivered, failed


class NotificationSweeper(Sweeper):
    def __init__(self, delivery: NotificationDelivery, interval_seconds: float) -> None:
        super().__init__(delivery, interval_seconds, name="notification", logger=logger)
