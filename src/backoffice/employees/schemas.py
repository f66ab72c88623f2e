"""Request and response models of employees, and the list's query."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field

from backoffice.pagination import ListQuery, SortOrder
from backoffice.schemas import Email, Example, Flag, PatchModel, ReadModel, RequestModel, SafeStr

FullName = Annotated[str, Field(min_length=1, max_length=200)]
Title = Annotated[str, Field(max_length=200)]
Department = Annotated[str, Field(min_length=1, max_length=100)]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)


def iso_date_text(value: object) -> object:
    """A date is `YYYY-MM-DD`, as `format: date` says; lax parsing would also read a
    number as seconds since 1970 and a date-time at midnight as its date."""
    if not (isinstance(value, str) and ISO_DATE.match(value)):
        raise ValueError("must be a date like 2024-01-31")
    return value


HiredOn = Annotated[
    date,
    BeforeValidator(iso_date_text),
    Field(
        ge=date(1900, 1, 1),
        le=date(9999, 12, 31),
        # The bounds as JSON Schema, which has no minimum for dates: the year is 1900 or later.
        json_schema_extra={"pattern": r"^(19\d\d|[2-9]\d\d\d)-"},
    ),
]


class EmployeeCreate(RequestModel):
    full_name: FullName
    email: Email
    title: Title | None = None
    department: Department | None = None
    hired_on: HiredOn | None = None
    is_active: Flag = True

    example: ClassVar[Example] = {
        "full_name": "Grace Hopper",
        "email": "grace@example.com",
        "title": "Rear admiral",
        "department": "Engineering",
        "hired_on": "2024-09-02",
        "is_active": True,
    }


class EmployeeUpdate(PatchModel):
    """Only the fields sent change; optional fields accept `null` to clear them.

    `full_name`, `email` and `is_active` cannot be null.
    """

    not_nullable = frozenset({"full_name", "email", "is_active"})

    full_name: FullName | None = None
    email: Email | None = None
    title: Title | None = None
    department: Department | None = None
    hired_on: HiredOn | None = None
    is_active: Flag | None = None

    example: ClassVar[Example] = {"title": "Head of compilers", "is_active": True}


class EmployeeRead(ReadModel):
    id: int
    account_id: int
    full_name: str
    email: str
    title: str | None
    department: str | None
    hired_on: date | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    example: ClassVar[Example] = {
        "id": 12,
        "account_id": 3,
        **EmployeeCreate.example,
        "created_at": "2025-03-14T09:26:53Z",
        "updated_at": "2025-03-15T17:02:11Z",
    }


class EmployeeSort(StrEnum):
    FULL_NAME = "full_name"
    HIRED_ON = "hired_on"
    CREATED_AT = "created_at"


class EmployeeQuery(ListQuery):
    """Filters, order and page of the employee list."""

    q: Annotated[
        SafeStr | None,
        Field(max_length=200, description="Full name or email contains (case-insensitive)"),
    ] = None
    department: Annotated[
        SafeStr | None, Field(max_length=100, description="Exactly this department")
    ] = None
    is_active: Annotated[bool | None, Field(description="Only active or inactive")] = None
    sort: Annotated[EmployeeSort, Field(description="Sort column; ties by id")] = (
        EmployeeSort.FULL_NAME
    )
    order: Annotated[SortOrder, Field(description="Sort direction")] = SortOrder.ASC
