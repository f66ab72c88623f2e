"""Each module's rows, bodies and constraint names agree with its schemas and tables.

Reads return `NamedTuple` rows whose fields name the selected columns; the response
model validates them by attribute name. A field added to a Read schema but not to the
row is a 500 at run time, and a row field no schema answers is work every row pays for;
a body field that is no column breaks its INSERT or UPDATE; a constraint name that the
database does not use turns its 409 (or 404) into a 500. These fail first, naming the
difference.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.accounts.models import Account
from backoffice.accounts.repository import AccountRow
from backoffice.accounts.schemas import AccountCreate, AccountRead, AccountUpdate
from backoffice.auth.repository import SESSION_COLUMNS, SessionRow
from backoffice.auth.schemas import SessionRead
from backoffice.employees.models import Employee
from backoffice.employees.repository import EmployeeRow
from backoffice.employees.schemas import EmployeeCreate, EmployeeRead, EmployeeUpdate
from backoffice.employees.service import CONSTRAINT_ERRORS as EMPLOYEE_CONSTRAINTS
from backoffice.files.repository import FileRow
from backoffice.files.schemas import FileRead
from backoffice.items.models import Item
from backoffice.items.repository import ItemRow
from backoffice.items.schemas import ItemCreate, ItemRead, ItemUpdate
from backoffice.items.service import CONSTRAINT_ERRORS as ITEM_CONSTRAINTS
from backoffice.models import Base
from backoffice.notifications.repository import NotificationRow
from backoffice.notifications.schemas import NotificationRead
from backoffice.users.models import User
from backoffice.users.repository import READ as USER_READ
from backoffice.users.repository import UserRow
from backoffice.users.schemas import UserAdminUpdate, UserRead, UserUpdate
from backoffice.users.service import CONSTRAINT_ERRORS as USER_CONSTRAINTS


def name_of(value: Any) -> str:
    return getattr(value, "__name__", "")


@pytest.mark.parametrize(
    ("row", "schema", "beyond_schema"),
    [
        (AccountRow, AccountRead, set()),
        (EmployeeRow, EmployeeRead, set()),
        # The owner decides who may download; it is not in the response.
        (FileRow, FileRead, {"owner_id"}),
        (ItemRow, ItemRead, set()),
        (NotificationRow, NotificationRead, set()),
        (UserRow, UserRead, set()),
        (SessionRow, SessionRead, set()),
    ],
    ids=name_of,
)
def test_row_fields_are_the_read_schemas_fields(
    row: type[NamedTuple], schema: type[BaseModel], beyond_schema: set[str]
) -> None:
    assert set(row._fields) - beyond_schema == set(schema.model_fields)


def test_user_read_statement_selects_the_user_row() -> None:
    """`/users/me` reads through a statement built once: it selects `UserRow`'s fields."""
    assert tuple(column.key for column in USER_READ.selected_columns) == UserRow._fields


def test_session_columns_are_the_session_row_in_order() -> None:
    """Sessions are aggregates, not columns: their labels are matched by position."""
    assert tuple(column.key for column in SESSION_COLUMNS) == SessionRow._fields


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (AccountCreate, Account),
        (AccountUpdate, Account),
        (EmployeeCreate, Employee),
        (EmployeeUpdate, Employee),
        (ItemCreate, Item),
        (ItemUpdate, Item),
        (UserUpdate, User),
        (UserAdminUpdate, User),
    ],
    ids=name_of,
)
def test_body_fields_are_columns(body: type[BaseModel], model: type[Base]) -> None:
    """A body is written as it is dumped: each field must be a column of its table."""
    assert set(body.model_fields) <= set(model.__table__.columns.keys())


@pytest.mark.parametrize(
    "errors",
    [EMPLOYEE_CONSTRAINTS, ITEM_CONSTRAINTS, USER_CONSTRAINTS],
    ids=["employees", "items", "users"],
)
async def test_mapped_constraints_exist_in_the_database(
    engine: AsyncEngine, errors: Mapping[str, Any]
) -> None:
    """The names asyncpg reports are the migrated database's, constraints or indexes."""
    async with engine.connect() as conn:
        names = set(
            (
                await conn.execute(
                    text("SELECT conname FROM pg_constraint UNION SELECT indexname FROM pg_indexes")
                )
            ).scalars()
        )
    assert set(errors) <= names
