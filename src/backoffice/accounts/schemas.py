"""Request and response models of accounts."""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from backoffice.pagination import ListQuery
from backoffice.schemas import PatchModel, ReadModel, RequestModel, SafeStr

AccountName = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]


class AccountCreate(RequestModel):
    name: AccountName
    description: Description | None = None


class AccountUpdate(PatchModel):
    """Only the fields sent change; `description: null` clears it, `name` cannot be null."""

    not_nullable = frozenset({"name"})

    name: AccountName | None = None
    description: Description | None = None


class AccountRead(ReadModel):
    id: int
    name: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime


class AccountQuery(ListQuery):
    q: Annotated[
        SafeStr | None, Field(max_length=200, description="Name contains (case-insensitive)")
    ] = None
