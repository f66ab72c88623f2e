"""SQL of idempotency keys."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.idempotency.models import IdempotencyKey


@dataclass(frozen=True, slots=True)
class KeyState:
    request_hash: str
    status_code: int | None
    content_type: str | None
    response_body: bytes | None

    @property
    def completed(self) -> bool:
        return self.status_code is not None


def seconds_ago(seconds: int) -> ColumnElement[datetime]:
    """A moment on the database's clock, never a replica's."""
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, user_id: int, key: str, request_hash: str) -> int | None:
        """Insert the key: the claim's id, or None when another request holds it already."""
        claimed: int | None = await self.session.scalar(
            insert(IdempotencyKey)
            .values(user_id=user_id, key=key, request_hash=request_hash)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(IdempotencyKey.id)
        )
        return claimed

    async def state(self, user_id: int, key: str) -> KeyState | None:
        row = (
            await self.session.execute(
                select(
                    IdempotencyKey.request_hash,
                    IdempotencyKey.status_code,
                    IdempotencyKey.content_type,
                    IdempotencyKey.response_body,
                ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            )
        ).one_or_none()
        return None if row is None else KeyState(*row)

    async def drop_dead(self, user_id: int, key: str, ttl_seconds: int, stale_seconds: int) -> None:
        """Forget the user's expired keys, and this key if its first request died unfinished.

        Expiry is enforced per user at each claim, through the unique index's prefix, so
        the table never needs a global purge job.
        """
        expired = IdempotencyKey.created_at < seconds_ago(ttl_seconds)
        abandoned = (
            (IdempotencyKey.key == key)
            & IdempotencyKey.completed_at.is_(None)
            & (IdempotencyKey.created_at < seconds_ago(stale_seconds))
        )
        await self.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, or_(expired, abandoned))
        )

    async def complete(
        self, claim_id: int, status_code: int, content_type: str | None, body: bytes
    ) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claim_id)
            .values(
                status_code=status_code,
                content_type=content_type,
                response_body=body,
                completed_at=func.now(),
            )
        )

    async def release(self, claim_id: int) -> None:
        """Only this claim: a retry that took over a stale claim holds another id."""
        await self.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claim_id, IdempotencyKey.completed_at.is_(None)
            )
        )
