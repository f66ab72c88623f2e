"""SQL of the `accounts` table, through the session it is given.

Reads and writes return Core rows of the columns a response needs (`RETURNING` on
writes), never ORM entities: nothing to lazy-load, less to build per row.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.accounts.models import Account
from backoffice.pagination import PageParams
from backoffice.sql import contains, fetch_page

COLUMNS = (
    Account.id,
    Account.name,
    Account.description,
    Account.owner_id,
    Account.created_at,
    Account.updated_at,
)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> Row[*tuple[Any, ...]]:
        return (
            await self.session.execute(insert(Account).values(**values).returning(*COLUMNS))
        ).one()

    async def get(self, account_id: int, owner_id: int | None) -> Row[*tuple[Any, ...]] | None:
        """The account, if `owner_id` owns it (`None`: whoever owns it)."""
        query = select(*COLUMNS).where(Account.id == account_id)
        if owner_id is not None:
            query = query.where(Account.owner_id == owner_id)
        return (await self.session.execute(query)).one_or_none()

    async def list(
        self, owner_id: int | None, page: PageParams, q: str | None
    ) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
        query = select(*COLUMNS).order_by(Account.name, Account.id)
        if owner_id is not None:
            query = query.where(Account.owner_id == owner_id)
        if q:
            query = query.where(contains(q, Account.name))
        return await fetch_page(self.session, query, page)

    async def update(self, account_id: int, **values: Any) -> Row[*tuple[Any, ...]] | None:
        return (
            await self.session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(**values)
                .returning(*COLUMNS)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()

    async def delete(self, account_id: int) -> bool:
        """Its employees go with it (`ON DELETE CASCADE` in the database)."""
        deleted = await self.session.execute(
            delete(Account)
            .where(Account.id == account_id)
            .returning(Account.id)
            .execution_options(synchronize_session=False)
        )
        return deleted.scalar_one_or_none() is not None
