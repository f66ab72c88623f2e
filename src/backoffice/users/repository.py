"""SQL of the `users` table, through the session it is given."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.db import execute_first
from backoffice.pagination import SortOrder
from backoffice.principal import Identity, Principal
from backoffice.security import AccessClaims
from backoffice.sql import (
    CallerCheck,
    columns_of,
    contains,
    fetch_caller,
    fetch_page,
    insert_row,
    ordered,
    substring_pattern,
    typed,
    update_row,
)
from backoffice.users.models import User
from backoffice.users.schemas import UserQuery


class UserRow(NamedTuple):
    """A user as responses show them (`UserRead`'s fields): never the password hash."""

    id: int
    email: str
    email_verified: bool
    pending_email: str | None
    full_name: str
    role: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


# The per-request statements, built once: compiling a `select()` per call costs ~80 µs.
# A deactivated user, or a token older than the user's token version, finds no row.
CALLER = (
    User.id == bindparam("caller_id"),
    User.is_active,
    User.token_version == bindparam("caller_ver"),
)
"""The caller check: the token's user, active, at the token's version (`caller_params`)."""
ACTIVE_PRINCIPAL = select(User.id, User.role).where(*CALLER)
CALLER_ROW = select(User.id.label("caller_id")).where(*CALLER).subquery("caller")
"""The caller check as a subquery another module's statement carries (`sql.fetch_checked`)."""
COLUMNS = columns_of(User, UserRow)
READ = select(*COLUMNS).where(User.id == bindparam("id"))
READ_CALLER = select(*COLUMNS).where(*CALLER)


def caller_params(claims: AccessClaims) -> dict[str, int]:
    """The bind values of `CALLER`."""
    return {"caller_id": claims.user_id, "caller_ver": claims.version}


@dataclass(frozen=True, slots=True)
class Credentials:
    id: int
    hashed_password: str
    role: str
    is_active: bool
    token_version: int
    email_verified: bool


class Addresses(NamedTuple):
    email: str
    email_verified: bool
    pending_email: str | None


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, email: str, hashed_password: str, full_name: str, role: str, email_verified: bool
    ) -> UserRow:
        values = {
            "email": email,
            "hashed_password": hashed_password,
            "full_name": full_name,
            "role": role,
            "email_verified": email_verified,
        }
        return await insert_row(self.session, User, UserRow, values)

    async def read(self, user_id: int) -> UserRow | None:
        """The row `UserRead` is built from, without loading an entity."""
        return typed(
            UserRow, (await execute_first(self.session, READ, {"id": user_id})).one_or_none()
        )

    async def lock_in_order(self, *user_ids: int) -> dict[int, UserRow]:
        """The users found, row-locked until the transaction ends (see `sql.lock_row`).

        Locked in id order (PostgreSQL locks rows as the sort returns them): two
        transactions that lock the same two users never hold one each, waiting for the other.
        """
        statement = (
            select(*COLUMNS).where(User.id.in_(user_ids)).order_by(User.id).with_for_update()
        )
        rows = (await self.session.execute(statement)).all()
        return {row.id: UserRow._make(row) for row in rows}

    async def update(self, user_id: int, values: Mapping[str, Any]) -> UserRow | None:
        """Set `values` (nothing set: the row as it is); None: the user is gone."""
        return await update_row(self.session, User, UserRow, User.id == user_id, values)

    async def update_profile(
        self, user_id: int, full_name: str | None, email: str | None
    ) -> UserRow | None:
        """Set the name if given; an address becomes `pending_email`, unless it is the
        current one, which cancels a pending change."""
        values: dict[str, Any] = {}
        if full_name is not None:
            values["full_name"] = full_name
        if email is not None:
            values["pending_email"] = case((User.email == email, None), else_=literal(email))
        return await self.update(user_id, values)

    async def read_caller(self, check: CallerCheck) -> UserRow:
        """The caller's profile and its check in one statement; `Unauthorized` if it fails."""
        return await fetch_caller(self.session, check, READ_CALLER, UserRow)

    async def active_principal(self, claims: AccessClaims) -> Principal | None:
        """The per-request caller check, one primary-key lookup of two columns.

        Usually a request's first statement, so a dead pooled connection is retried.
        """
        params = caller_params(claims)
        row = (await execute_first(self.session, ACTIVE_PRINCIPAL, params)).one_or_none()
        return None if row is None else Principal(id=row.id, role=row.role)

    async def active_identity(self, user_id: int) -> Identity | None:
        """An active user's role and token version, to issue an access token with."""
        row = (
            await self.session.execute(
                select(User.id, User.role, User.token_version).where(
                    User.id == user_id, User.is_active
                )
            )
        ).one_or_none()
        return None if row is None else Identity(*row)

    async def bump_token_version(self, user_id: int) -> None:
        """Refuse every access token issued to the user so far; the caller commits."""
        await self.session.execute(
            update(User).where(User.id == user_id).values(token_version=User.token_version + 1)
        )

    async def delete(self, user_id: int) -> None:
        """Delete the user and, by the foreign keys' `ON DELETE CASCADE`, all that is theirs:
        accounts and their employees, items, files, notifications, refresh tokens,
        idempotency keys and mails (one-time tokens too, but `AuthService.settle_deletion`
        detaches those first)."""
        await self.session.execute(delete(User).where(User.id == user_id))

    async def credentials(self, email: str) -> Credentials | None:
        row = (
            await self.session.execute(
                select(
                    User.id,
                    User.hashed_password,
                    User.role,
                    User.is_active,
                    User.token_version,
                    User.email_verified,
                ).where(User.email == email)
            )
        ).one_or_none()
        return None if row is None else Credentials(*row)

    async def email_and_password_hash(self, user_id: int) -> tuple[str, str] | None:
        row = (
            await self.session.execute(
                select(User.email, User.hashed_password).where(User.id == user_id)
            )
        ).one_or_none()
        return None if row is None else (row.email, row.hashed_password)

    async def lock_unchanged(self, user_id: int, hashed_password: str) -> Identity | None:
        """Lock the active user's row if its hash is still `hashed_password`."""
        row = (
            await self.session.execute(
                select(User.id, User.role, User.token_version)
                .where(User.id == user_id, User.hashed_password == hashed_password, User.is_active)
                .with_for_update()
            )
        ).one_or_none()
        return None if row is None else Identity(*row)

    async def replace_password(self, user_id: int, expected: str, hashed_password: str) -> bool:
        """Compare-and-set: False when another request changed the hash meanwhile."""
        replaced = await self.session.scalar(
            update(User)
            .where(User.id == user_id, User.hashed_password == expected)
            .values(hashed_password=hashed_password)
            .returning(User.id)
        )
        return replaced is not None

    async def active_id(self, email: str) -> int | None:
        """The id of the active account with this address, if there is one.

        Its row is held `FOR KEY SHARE` until the caller's transaction ends (the lock
        the caller's foreign keys would take anyway, taken first): a deletion of the
        account waits for the rows that name it, instead of breaking their insert, and
        both take the user's row before any of its tokens' (no deadlock).
        """
        query = select(User.id).where(User.email == email, User.is_active)
        return await self.session.scalar(query.with_for_update(key_share=True))

    async def addresses(self, user_id: int) -> Addresses | None:
        row = (
            await self.session.execute(
                select(User.email, User.email_verified, User.pending_email).where(
                    User.id == user_id
                )
            )
        ).one_or_none()
        return None if row is None else Addresses(*row)

    async def reset_password(self, user_id: int, email: str, hashed_password: str) -> bool:
        """Set the password of the active user whose address is still `email`, and bump
        the token version; the address is verified too (a link sent to it was followed)."""
        reset = await self.session.scalar(
            update(User)
            .where(User.id == user_id, User.email == email, User.is_active)
            .values(
                hashed_password=hashed_password,
                token_version=User.token_version + 1,
                email_verified=True,
            )
            .returning(User.id)
        )
        return reset is not None

    async def confirm_email(self, user_id: int, email: str) -> bool:
        """Mark `email` verified: the user's address, or the pending one, which then becomes
        the address (a unique violation if another account took it meanwhile)."""
        pending = User.pending_email == email
        confirmed = await self.session.scalar(
            update(User)
            .where(User.id == user_id, (User.email == email) | pending)
            .values(
                email=email,
                email_verified=True,
                pending_email=case((pending, None), else_=User.pending_email),
            )
            .returning(User.id)
        )
        return confirmed is not None

    async def list(self, query: UserQuery) -> tuple[list[UserRow], int]:
        """By id (sign-up order)."""
        stmt = ordered(select(*COLUMNS), User.id, SortOrder.ASC)
        if query.q:
            stmt = stmt.where(contains(substring_pattern(query.q), User.email, User.full_name))
        return await fetch_page(self.session, stmt, query.page, UserRow)
