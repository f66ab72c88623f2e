"""SQL of refresh tokens, one-time link tokens and login attempts (shaped as `accounts/`;
these rows are written once and stamped, never edited through a request body)."""

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backoffice.auth.models import LoginAttempt, OneTimeToken, RefreshToken
from backoffice.pagination import ListQuery, SortOrder
from backoffice.sql import fetch_page, lock_row, ordered


class RefreshTokenRow(NamedTuple):
    """What redeeming or revoking a refresh token decides on."""

    id: int
    user_id: int
    family_id: int
    device_name: str | None
    revoked_at: datetime | None
    replaced_by_id: int | None


class SessionRow(NamedTuple):
    """A signed-in device: one refresh-token family (`SessionRead`'s fields)."""

    id: int
    device: str | None
    created_at: datetime
    last_used_at: datetime


SESSION_COLUMNS = (
    RefreshToken.family_id.label("id"),
    func.max(RefreshToken.device_name).label("device"),
    func.min(RefreshToken.created_at).label("created_at"),
    func.max(RefreshToken.created_at).label("last_used_at"),
)


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_id(self) -> int:
        """Reserve an id, so a family's first token can carry its own id as `family_id`."""
        seq = func.pg_get_serial_sequence(RefreshToken.__tablename__, "id")
        return int((await self.session.execute(select(func.nextval(seq)))).scalar_one())

    async def add(
        self,
        *,
        token_id: int,
        user_id: int,
        family_id: int,
        token_hash: str,
        device_name: str | None,
        lifetime_days: int,
    ) -> None:
        await self.session.execute(
            insert(RefreshToken).values(
                id=token_id,
                user_id=user_id,
                family_id=family_id,
                token_hash=token_hash,
                device_name=device_name,
                expires_at=func.now() + func.make_interval(0, 0, 0, lifetime_days),
            )
        )

    async def lock_unexpired(self, token_hash: str) -> RefreshTokenRow | None:
        """The unexpired token row, locked, so concurrent refreshes of one token queue up here."""
        where = (RefreshToken.token_hash == token_hash) & (RefreshToken.expires_at > func.now())
        return await lock_row(self.session, RefreshToken, RefreshTokenRow, where)

    async def mark_replaced(self, token_id: int, replaced_by_id: int) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id)
            .values(replaced_by_id=replaced_by_id)
        )

    async def revoke_family(self, family_id: int, user_id: int | None = None) -> int:
        """Revoke every live token of a family; the count tells whether it existed."""
        query = update(RefreshToken).where(
            RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)
        )
        if user_id is not None:
            query = query.where(RefreshToken.user_id == user_id)
        result = await self.session.execute(query.values(revoked_at=func.now()))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_all(self, user_id: int) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def sessions(self, user_id: int, query: ListQuery) -> tuple[list[SessionRow], int]:
        """Signed-in devices: families that still hold a live token, oldest first."""
        live = and_(
            RefreshToken.revoked_at.is_(None),
            RefreshToken.replaced_by_id.is_(None),
            RefreshToken.expires_at > func.now(),
        )
        stmt = (
            select(*SESSION_COLUMNS)
            .where(RefreshToken.user_id == user_id)
            .group_by(RefreshToken.family_id)
            .having(func.bool_or(live))
        )
        stmt = ordered(stmt, RefreshToken.family_id, SortOrder.ASC)
        return await fetch_page(self.session, stmt, query.page, SessionRow)


PRUNE_BATCH = 100


async def count_in_window(
    session: AsyncSession,
    key: str,
    row_id: InstrumentedAttribute[int],
    stale: ColumnElement[bool],
    stamp: InstrumentedAttribute[datetime],
    counted: ColumnElement[bool],
    window: ColumnElement[Any],
) -> tuple[int, float]:
    """The `counted` rows stamped within `window`, and the seconds until the oldest of
    them leaves it: the shape of every per-address (or per-email) hourly limit here.

    Requests for one `key` are serialised until the transaction ends (an advisory lock),
    so parallel ones cannot all slip under the limit. `stale` rows are pruned a hundred
    at a time, skipping rows another request is pruning (requests for other keys never
    wait on each other), which keeps the table bounded.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    pruned = select(row_id).where(stale).limit(PRUNE_BATCH).with_for_update(skip_locked=True)
    await session.execute(delete(row_id.class_).where(row_id.in_(pruned)))
    counting = select(
        func.count(), func.extract("epoch", func.min(stamp) + window - func.now())
    ).where(counted, stamp > func.now() - window)
    count, wait = (await session.execute(counting)).one()
    return int(count), float(wait or 0)


class SpentToken(NamedTuple):
    """What a consumed one-time token was for: its user (None for an address with no
    active account, whose token was never sent) and the address it was sent to."""

    user_id: int | None
    email: str


class OneTimeTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, purpose: str, email: str, window_seconds: int) -> tuple[int, float]:
        """How many `purpose` tokens `email` was given in the last `window_seconds`, and
        the seconds until the oldest of them leaves the window.

        Requests for one address are serialised until the transaction ends (an advisory
        lock), so parallel ones cannot all slip under the limit. Tokens past their expiry
        by more than the window are pruned a hundred at a time, as login attempts are.
        """
        window = func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
        return await count_in_window(
            self.session,
            f"{purpose}:{email}",
            OneTimeToken.id,
            OneTimeToken.expires_at <= func.now() - window,
            OneTimeToken.created_at,
            (OneTimeToken.email == email) & (OneTimeToken.purpose == purpose),
            window,
        )

    async def add(
        self,
        *,
        purpose: str,
        token_hash: str,
        email: str,
        user_id: int | None,
        lifetime_seconds: int,
    ) -> None:
        await self.session.execute(
            insert(OneTimeToken).values(
                purpose=purpose,
                token_hash=token_hash,
                email=email,
                user_id=user_id,
                expires_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lifetime_seconds),
            )
        )

    async def void_for_email(self, purpose: str, email: str) -> None:
        """Spend every unused `purpose` token sent to `email`: a newer one replaces them."""
        await self._void(purpose, OneTimeToken.email == email)

    async def void_for_user(self, purpose: str, user_id: int) -> None:
        """Spend every unused `purpose` token of the user, whatever address it went to."""
        await self._void(purpose, OneTimeToken.user_id == user_id)

    async def _void(self, purpose: str, whose: ColumnElement[bool]) -> None:
        unused = (OneTimeToken.purpose == purpose) & OneTimeToken.used_at.is_(None)
        await self.session.execute(
            update(OneTimeToken).where(whose, unused).values(used_at=func.now())
        )

    async def disown(self, user_id: int) -> None:
        """Expire the tokens of a user about to be deleted and detach them from the user:
        they still count toward their address's hourly limit (`recent` counts by
        `created_at`), and are pruned from an hour on, not after a link's whole lifetime."""
        await self.session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.user_id == user_id)
            .values(user_id=None, expires_at=func.least(OneTimeToken.expires_at, func.now()))
        )

    async def usable(self, purpose: str, token_hash: str) -> bool:
        """Whether the token would be consumed now (a read: `consume` decides)."""
        found = await self.session.scalar(
            select(OneTimeToken.id).where(*self._live(purpose, token_hash))
        )
        return found is not None

    async def consume(self, purpose: str, token_hash: str) -> SpentToken | None:
        """Spend the token in one statement: of two requests racing with it, one gets it."""
        row = (
            await self.session.execute(
                update(OneTimeToken)
                .where(*self._live(purpose, token_hash))
                .values(used_at=func.now())
                .returning(OneTimeToken.user_id, OneTimeToken.email)
            )
        ).one_or_none()
        return None if row is None else SpentToken(*row)

    @staticmethod
    def _live(purpose: str, token_hash: str) -> tuple[ColumnElement[bool], ...]:
        return (
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > func.now(),
        )


class LoginAttemptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reserve(
        self, email: str, max_attempts: int, window_seconds: int
    ) -> tuple[int | None, float | None]:
        """Count this attempt before the password is checked.

        The new attempt's id, to `forget` it if the password is never checked; or the
        seconds to wait if the email is throttled.

        Attempts for one email are serialised by a transaction-scoped advisory lock, so
        parallel requests cannot all slip under the limit while bcrypt runs. The row
        stays as a failure unless the login succeeds and clears it. Expired rows are
        pruned a hundred at a time (skipping rows another login is pruning, so logins
        for different emails never wait on each other), keeping the table bounded.
        """
        window = func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
        count, retry_after = await count_in_window(
            self.session,
            email,
            LoginAttempt.id,
            LoginAttempt.attempted_at <= func.now() - window,
            LoginAttempt.attempted_at,
            LoginAttempt.email == email,
            window,
        )
        if count >= max_attempts:
            return None, retry_after
        attempt_id = await self.session.scalar(
            insert(LoginAttempt).values(email=email).returning(LoginAttempt.id)
        )
        return attempt_id, None

    async def forget(self, attempt_id: int) -> None:
        """Un-count an attempt whose password was never checked (no bcrypt slot came)."""
        await self.session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))

    async def clear(self, email: str) -> None:
        await self.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
