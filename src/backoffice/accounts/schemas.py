"""Request and response models of accounts."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_validator

from backoffice.schemas import ReadModel, RequestModel

AccountName = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]


class AccountCreate(RequestModel):
    name: AccountName
    description: Description | None = None


class AccountUpdate(RequestModel):
    """Only the fields sent change; `description: null` clears it, `name` cannot be null."""

    name: AccountName | None = None
    description: Description | None = None

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name cannot be null")
        return value


class AccountRead(ReadModel):
    id: int
    name: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime
