"""SQL of the `users` table, through the session it is given."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.db import execute_first
from backoffice.pagination import PageParams
from backoffice.principal import Identity, Principal
from backoffice.security import AccessClaims
from backoffice.sql import contains, fetch_page
from backoffice.users.models import User

# The per-request statements, built once: compiling a `select()` per call costs ~80 µs.
# A deactivated user, or a token older than the user's token version, finds no row.
ACTIVE_PRINCIPAL = select(User.id, User.role).where(
    User.id == bindparam("id"), User.is_active, User.token_version == bindparam("ver")
)
READ = select(
    User.id, User.email, User.full_name, User.role, User.is_active, User.created_at, User.updated_at
).where(User.id == bindparam("id"))


@dataclass(frozen=True, slots=True)
class Credentials:
    id: int
    hashed_password: str
    role: str
    is_active: bool
    token_version: int


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> User:
        user = User(**values)
        self.session.add(user)
        await self.session.flush()
        return user

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def read(self, user_id: int) -> Row[Any] | None:
        """The row `UserRead` is built from, without loading an entity."""
        return (await execute_first(self.session, READ, {"id": user_id})).one_or_none()

    async def active_principal(self, claims: AccessClaims) -> Principal | None:
        """The per-request caller check, one primary-key lookup of two columns.

        Usually a request's first statement, so a dead pooled connection is retried.
        """
        params = {"id": claims.user_id, "ver": claims.version}
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

    async def credentials(self, email: str) -> Credentials | None:
        row = (
            await self.session.execute(
                select(
                    User.id, User.hashed_password, User.role, User.is_active, User.token_version
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

    async def list(self, page: PageParams, q: str | None) -> tuple[Sequence[User], int]:
        query = select(User).order_by(User.id)
        if q:
            query = query.where(contains(q, User.email, User.full_name))
        rows, total = await fetch_page(self.session, query, page)
        return [row[0] for row in rows], total
