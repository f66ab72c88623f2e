"""SQL of the `accounts` table, through the session it is given.

Reads and writes return `AccountRow`s, Core rows of the columns a response needs
(`RETURNING` on writes), never ORM entities: nothing to lazy-load, less to build per row.
"""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.accounts.models import Account
from backoffice.accounts.schemas import AccountCreate, AccountQuery, AccountUpdate
from backoffice.pagination import SortOrder
from backoffice.sql import (
    changes_of,
    columns_of,
    contains,
    fetch_page,
    insert_row,
    ordered,
    substring_pattern,
    typed,
    update_row,
)


class AccountRow(NamedTuple):
    """An account as responses show it (`AccountRead`'s fields)."""

    id: int
    name: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


COLUMNS = columns_of(Account, AccountRow)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, owner_id: int, data: AccountCreate) -> AccountRow:
        values = {"owner_id": owner_id, **data.model_dump()}
        return await insert_row(self.session, Account, AccountRow, values)

    async def get(self, account_id: int, owner_id: int | None) -> AccountRow | None:
        """The account, if `owner_id` owns it (`None`: whoever owns it)."""
        query = select(*COLUMNS).where(Account.id == account_id)
        if owner_id is not None:
            query = query.where(Account.owner_id == owner_id)
        return typed(AccountRow, (await self.session.execute(query)).one_or_none())

    async def list(self, owner_id: int | None, query: AccountQuery) -> tuple[list[AccountRow], int]:
        """By name, then id."""
        stmt = ordered(select(*COLUMNS), Account.name, SortOrder.ASC, Account.id)
        if owner_id is not None:
            stmt = stmt.where(Account.owner_id == owner_id)
        if query.q:
            stmt = stmt.where(contains(substring_pattern(query.q), Account.name))
        return await fetch_page(self.session, stmt, query.page, AccountRow)

    async def update(self, account_id: int, data: AccountUpdate) -> AccountRow | None:
        """None: deleted meanwhile."""
        where = Account.id == account_id
        return await update_row(self.session, Account, AccountRow, where, changes_of(data))

    async def delete(self, account_id: int) -> bool:
        """Its employees go with it (`ON DELETE CASCADE` in the database)."""
        deleted = await self.session.execute(
            delete(Account)
            .where(Account.id == account_id)
            .returning(Account.id)
            .execution_options(synchronize_session=False)
        )
        return deleted.scalar_one_or_none() is not None
