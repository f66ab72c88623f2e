"""SQL of the `items` table, through the session it is given (shaped as `accounts/`)."""

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.items.models import Item
from backoffice.items.schemas import ItemCreate, ItemQuery, ItemSort, ItemUpdate
from backoffice.sql import (
    changes_of,
    columns_of,
    contains,
    fetch_page,
    insert_row,
    lock_row,
    ordered,
    typed,
    update_row,
)


class ItemRow(NamedTuple):
    """An item as responses show it (`ItemRead`'s fields, less the computed one)."""

    id: int
    name: str
    description: str | None
    category: str | None
    price: Decimal
    tax: Decimal | None
    image_file_id: int | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


READ_COLUMNS = columns_of(Item, ItemRow)
# `GET /items/{id}`, built once: compiling a `select()` per call costs ~80 µs.
READ_ONE = select(*READ_COLUMNS).where(Item.id == bindparam("id"))
SORT_KEYS: dict[ItemSort, ColumnElement[Any]] = {
    # lower(name): what the unique index holds, so it serves this order too.
    "name": func.lower(Item.name),
    "price": Item.price.expression,
    "created_at": Item.created_at.expression,
}


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, owner_id: int, data: ItemCreate) -> ItemRow:
        values = {"owner_id": owner_id, **data.model_dump()}
        return await insert_row(self.session, Item, ItemRow, values)

    async def lock(self, item_id: int) -> ItemRow | None:
        """The item, row-locked until the transaction ends (see `sql.lock_row`)."""
        return await lock_row(self.session, Item, ItemRow, Item.id == item_id)

    async def update(self, item_id: int, data: ItemUpdate | ItemCreate) -> ItemRow | None:
        """PATCH sends an `ItemUpdate` (the fields given), PUT an `ItemCreate` (all)."""
        return await update_row(self.session, Item, ItemRow, Item.id == item_id, changes_of(data))

    async def read(self, item_id: int) -> ItemRow | None:
        """The row `ItemRead` is built from."""
        return typed(ItemRow, (await self.session.execute(READ_ONE, {"id": item_id})).one_or_none())

    async def image_file_id(self, item_id: int) -> tuple[bool, int | None]:
        """Whether the item exists, and its image's file id."""
        row = (
            await self.session.execute(select(Item.image_file_id).where(Item.id == item_id))
        ).one_or_none()
        return (False, None) if row is None else (True, row.image_file_id)

    async def search(self, query: ItemQuery, owner_id: int | None) -> tuple[list[ItemRow], int]:
        """One page of the catalogue, ordered by `sort` then id (a stable order)."""
        return await fetch_page(self.session, search_query(query, owner_id), query.page, ItemRow)

    async def delete(self, item_id: int) -> None:
        await self.session.execute(delete(Item).where(Item.id == item_id))


def search_query(query: ItemQuery, owner_id: int | None) -> Select[*tuple[Any, ...]]:
    """The filtered, ordered select behind `GET /items` (also what bench/ EXPLAINs);
    `owner_id` is the caller's id for `owner=me`, else None."""
    stmt = ordered(select(*READ_COLUMNS), SORT_KEYS[query.sort], query.order, Item.id)
    if query.q is not None:
        stmt = stmt.where(contains(query.q, Item.name, Item.description))
    if query.category is not None:
        stmt = stmt.where(Item.category == query.category)
    if query.min_price is not None:
        stmt = stmt.where(Item.price >= query.min_price)
    if query.max_price is not None:
        stmt = stmt.where(Item.price <= query.max_price)
    if owner_id is not None:
        stmt = stmt.where(Item.owner_id == owner_id)
    return stmt
