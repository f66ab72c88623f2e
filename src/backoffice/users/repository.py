"""SQL of the `users` table, through the session it is given."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.db import execute_first
from backoffice.pagination import PageParams
from backoffice.principal import Principal
from backoffice.sql import contains, fetch_page
from backoffice.users.models import User

# The per-request statements, built once: compiling a `select()` per call costs ~80 µs.
ACTIVE_PRINCIPAL = select(User.id, User.role).where(User.id == bindparam("id"), User.is_active)
READ = select(
    User.id, User.email, User.full_name, User.role, User.is_active, User.created_at, User.updated_at
).where(User.id == bindparam("id"))


@dataclass(frozen=True, slots=True)
class Credentials:
    id: int
    hashed_password: str
    role: str
    is_active: bool


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

    async def active_principal(self, user_id: int) -> Principal | None:
        """One primary-key lookup of two columns: the per-request user check.

        Usually a request's first statement, so a dead pooled connection is retried.
        """
        row = (await execute_first(self.session, ACTIVE_PRINCIPAL, {"id": user_id})).one_or_none()
        return None if row is None else Principal(id=row.id, role=row.role)

    async def credentials(self, email: str) -> Credentials | None:
        row = (
            await self.session.execute(
                select(User.id, User.hashed_password, User.role, User.is_active).where(
                    User.email == email
                )
            )
        ).one_or_none()
        return None if row is None else Credentials(*row)

    async def hashed_password(self, user_id: int) -> str | None:
        stored: str | None = await self.session.scalar(
            select(User.hashed_password).where(User.id == user_id)
        )
        return stored

    async def lock_unchanged(self, user_id: int, hashed_password: str) -> bool:
        """Lock the active user's row if its hash is still `hashed_password`."""
        locked = await self.session.scalar(
            select(User.id)
            .where(User.id == user_id, User.hashed_password == hashed_password, User.is_active)
            .with_for_update()
        )
        return locked is not None

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
