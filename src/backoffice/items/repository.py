"""SQL of the `items` table, through the session it is given."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.items.models import Item
from backoffice.pagination import PageParams
from backoffice.sql import contains, fetch_page

# What reads return: the columns of `ItemRead`, without loading entities.
READ_COLUMNS = (
    Item.id,
    Item.name,
    Item.description,
    Item.category,
    Item.price,
    Item.tax,
    Item.image_file_id,
    Item.owner_id,
    Item.created_at,
    Item.updated_at,
)
# `GET /items/{id}`, built once: compiling a `select()` per call costs ~80 µs.
READ_ONE = select(*READ_COLUMNS).where(Item.id == bindparam("id"))
SORT_KEYS: dict[str, ColumnElement[Any]] = {
    # lower(name): what the unique index holds, so it serves this order too.
    "name": func.lower(Item.name),
    "price": Item.price.expression,
    "created_at": Item.created_at.expression,
}


class ItemConstraint(StrEnum):
    """The constraints of `items` that a client's input can break, by their names."""

    UNIQUE_NAME = "uq_items_lower_name"
    IMAGE_FILE = "fk_items_image_file_id_files"


def broken_constraint(exc: IntegrityError) -> ItemConstraint | None:
    """*Which* of the constraints above a failed write broke (None: another one, a bug).

    A different question from `backoffice.sql.is_unique_violation` ("a duplicate
    key?"), which is enough for a table with one rule a client can break. Items have
    two, a taken name and an image file deleted meanwhile, told apart by the name
    asyncpg reports on the error SQLAlchemy wraps (`orig.__cause__`).
    """
    name = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    known = {constraint.value: constraint for constraint in ItemConstraint}
    return known.get(name) if isinstance(name, str) else None


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """What `GET /items` narrows the catalogue by, typed; `None` means any."""

    q: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    owner_id: int | None = None


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> Item:
        item = Item(**values)
        self.session.add(item)
        await self.session.flush()
        return item

    async def get_for_update(self, item_id: int) -> Item | None:
        """The entity, for changes, row-locked until the transaction ends.

        A concurrent writer waits for this one (and then reads what it committed), so no
        change is applied to a stale copy; a row deleted meanwhile comes back as None
        instead of failing the UPDATE later (`StaleDataError`).
        """
        query = (
            select(Item)
            .where(Item.id == item_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def update(self, item: Item, changes: Mapping[str, Any]) -> Item:
        """Apply `changes` to a locked entity and write them (IntegrityError surfaces here)."""
        for field, value in changes.items():
            setattr(item, field, value)
        await self.session.flush()
        return item

    async def read(self, item_id: int) -> Any | None:
        """The row `ItemRead` is built from."""
        return (await self.session.execute(READ_ONE, {"id": item_id})).one_or_none()

    async def image_file_id(self, item_id: int) -> tuple[bool, int | None]:
        """Whether the item exists, and its image's file id."""
        row = (
            await self.session.execute(select(Item.image_file_id).where(Item.id == item_id))
        ).one_or_none()
        return (False, None) if row is None else (True, row.image_file_id)

    async def search(
        self, filters: ItemFilter, *, page: PageParams, sort: str, descending: bool
    ) -> tuple[Sequence[Any], int]:
        """One page of the catalogue, ordered by `sort` then id (a stable order)."""
        query = search_query(filters, sort=sort, descending=descending)
        return await fetch_page(self.session, query, page)

    async def delete(self, item_id: int) -> None:
        await self.session.execute(delete(Item).where(Item.id == item_id))


def search_query(filters: ItemFilter, *, sort: str, descending: bool) -> Select[*tuple[Any, ...]]:
    """The filtered, ordered select behind `GET /items` (also what bench/ EXPLAINs)."""
    query = select(*READ_COLUMNS)
    if filters.q is not None:
        query = query.where(contains(filters.q, Item.name, Item.description))
    if filters.category is not None:
        query = query.where(Item.category == filters.category)
    if filters.min_price is not None:
        query = query.where(Item.price >= filters.min_price)
    if filters.max_price is not None:
        query = query.where(Item.price <= filters.max_price)
    if filters.owner_id is not None:
        query = query.where(Item.owner_id == filters.owner_id)
    key, tiebreak = SORT_KEYS[sort], Item.id.expression
    if descending:
        return query.order_by(key.desc(), tiebreak.desc())
    return query.order_by(key.asc(), tiebreak.asc())
