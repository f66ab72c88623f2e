"""SQL of the `items` table, through the session it is given (shaped as `accounts/`)."""

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.items.models import Item
from backoffice.items.schemas import ItemCreate, ItemQuery, ItemSort, ItemUpdate
from backoffice.pagination import SortOrder
from backoffice.sql import (
    CallerCheck,
    changes_of,
    columns_of,
    contains,
    fetch_checked,
    fetch_checked_page,
    insert_row,
    lock_row,
    ordered,
    substring_pattern,
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

    async def read(self, check: CallerCheck, item_id: int) -> ItemRow | None:
        """The row `ItemRead` is built from, and the caller check, in one statement."""
        return await fetch_checked(self.session, check, READ_ONE, {"id": item_id}, ItemRow)

    async def search(
        self, check: CallerCheck, query: ItemQuery, owner_id: int | None
    ) -> tuple[list[ItemRow], int]:
        """One page of the catalogue, ordered by `sort` then id (a stable order), with its
        total, and the caller check, in one statement."""
        statement, values = search_query(query, owner_id)
        return await fetch_checked_page(self.session, check, statement, query.page, ItemRow, values)

    async def delete(self, item_id: int) -> None:
        await self.session.execute(delete(Item).where(Item.id == item_id))


class SearchShape(NamedTuple):
    """Which filters a search uses and its order: what its statement's text depends on."""

    q: bool
    category: bool
    min_price: bool
    max_price: bool
    owner: bool
    sort: ItemSort
    order: SortOrder


def search_query(
    query: ItemQuery, owner_id: int | None
) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    """The filtered, ordered select behind `GET /items` and its bind values (also what
    bench/ EXPLAINs); `owner_id` is the caller's id for `owner=me`, else None."""
    values = {
        "q": None if query.q is None else substring_pattern(query.q),
        "category": query.category,
        "min_price": query.min_price,
        "max_price": query.max_price,
        "owner_id": owner_id,
    }
    given = {name: value for name, value in values.items() if value is not None}
    shape = SearchShape(
        q="q" in given,
        category="category" in given,
        min_price="min_price" in given,
        max_price="max_price" in given,
        owner="owner_id" in given,
        sort=query.sort,
        order=query.order,
    )
    return search_statement(shape), given


@cache
def search_statement(shape: SearchShape) -> Select[*tuple[Any, ...]]:
    """Built once per shape (at most 2^5 x 6 of them), with binds for the values: building
    and compiling a `select()` with its filters cost ~12% of a list's CPU per request."""
    stmt = ordered(select(*READ_COLUMNS), SORT_KEYS[shape.sort], shape.order, Item.id)
    if shape.q:
        stmt = stmt.where(contains(bindparam("q"), Item.name, Item.description))
    if shape.category:
        stmt = stmt.where(Item.category == bindparam("category"))
    if shape.min_price:
        stmt = stmt.where(Item.price >= bindparam("min_price"))
    if shape.max_price:
        stmt = stmt.where(Item.price <= bindparam("max_price"))
    if shape.owner:
        stmt = stmt.where(Item.owner_id == bindparam("owner_id"))
    return stmt
