"""The list envelope and its `skip`/`limit` parameters, shared by every list route."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from backoffice.schemas import RequestModel

T = TypeVar("T")

MAX_LIMIT = 100
MAX_SKIP = 2**31 - 1
DEFAULT_LIMIT = 20


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class PageParams:
    skip: int = 0
    limit: int = DEFAULT_LIMIT


class ListQuery(RequestModel):
    """The query parameters of a list route, read as one model (`Annotated[<Thing>Query,
    Query()]`): the page here, the module's filters and sort in its subclass.

    NUL characters are 422 (`RequestModel`); unknown parameters are ignored, as on any
    route (`ItemQuery` forbids them).
    """

    model_config = ConfigDict(extra="ignore")

    skip: Annotated[int, Field(ge=0, le=MAX_SKIP, description="Rows to skip")] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Page size, at most 100")] = (
        DEFAULT_LIMIT
    )

    @property
    def page(self) -> PageParams:
        return PageParams(skip=self.skip, limit=self.limit)


ListQueryDep = Annotated[ListQuery, Query()]
"""A list with no filters of its own: only the page."""


class Page(BaseModel, Generic[T]):
    """`{"items": [...], "total": N, "skip": S, "limit": L}`."""

    items: list[T]
    """A list, not a `Sequence`: pydantic validates and serializes a `Sequence` field in
    Python, item by item (~13% of a list route's CPU), a `list` in its Rust core."""
    total: Annotated[int, Field(examples=[1])]
    skip: Annotated[int, Field(examples=[0])]
    limit: Annotated[int, Field(examples=[DEFAULT_LIMIT])]

    @classmethod
    def of(cls, items: Sequence[Any], total: int, page: PageParams) -> Self:
        """A page from ORM objects or result rows; the item model validates each."""
        return cls.model_validate(
            {"items": items, "total": total, "skip": page.skip, "limit": page.limit},
            from_attributes=True,
        )
