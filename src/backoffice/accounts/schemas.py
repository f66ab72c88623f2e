"""Request and response models of accounts."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from backoffice.pagination import ListQuery
from backoffice.schemas import Example, PatchModel, ReadModel, RequestModel, SafeStr

AccountName = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]


class AccountCreate(RequestModel):
    name: AccountName
    description: Description | None = None

    example: ClassVar[Example] = {
        "name": "Northwind Traders",
        "description": "Wholesale, Lisbon office",
    }


class AccountUpdate(PatchModel):
    """Only the fields sent change; `description: null` clears it, `name` cannot be null."""

    not_nullable = frozenset({"name"})

    name: AccountName | None = None
    description: Description | None = None

    example: ClassVar[Example] = {"description": "Wholesale, Lisbon and Porto offices"}


class AccountRead(ReadModel):
    id: int
    name: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime

    example: ClassVar[Example] = {
        "id": 3,
        "name": "Northwind Traders",
        "description": "Wholesale, Lisbon office",
        "owner_id": 42,
        "created_at": "2025-03-14T09:26:53Z",
        "updated_at": "2025-03-15T17:02:11Z",
    }


class AccountQuery(ListQuery):
    q: Annotated[
        SafeStr | None, Field(max_length=200, description="Name contains (case-insensitive)")
    ] = None
