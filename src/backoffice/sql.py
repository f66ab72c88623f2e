"""SQL shapes every repository shares: a safe substring filter, a counted page, and
telling a duplicate key from other integrity errors."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backoffice.pagination import PageParams

UNIQUE_VIOLATION = "23505"


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key (a 409), as opposed to any other broken constraint (a bug: 500)."""
    return getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION


FOREIGN_KEY_VIOLATION = "23503"


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    """A row naming a parent that is gone (deleted concurrently): the parent's 404."""
    return getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION


def escape_like(text: str) -> str:
    """Make `%`, `_` and `\\` match themselves in a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(q: str, *columns: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """Case-insensitive substring match of `q` in any of `columns`, wildcards literal."""
    pattern = f"%{escape_like(q)}%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


async def fetch_page(
    session: AsyncSession, query: Select[*tuple[Any, ...]], page: PageParams
) -> tuple[Sequence[Any], int]:
    """One page of `query` (already ordered) and the total the filters match.

    The total comes from the same filtered query, so it is right for the page shown.
    """
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.execute(query.offset(page.skip).limit(page.limit))).all()
    return rows, total or 0
