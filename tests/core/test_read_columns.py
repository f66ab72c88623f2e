"""Each repository's column tuple selects exactly what its Read schema answers.

Reads return Core rows that the response model validates by attribute name: a field
added to a Read schema but not to the columns is a 500 at run time, and a column no
schema answers is work every row pays for. This fails first, naming the difference.
"""

from collections.abc import Iterable
from typing import Any

import pytest
from pydantic import BaseModel

from backoffice.accounts.repository import COLUMNS as ACCOUNT_COLUMNS
from backoffice.accounts.schemas import AccountRead
from backoffice.employees.repository import COLUMNS as EMPLOYEE_COLUMNS
from backoffice.employees.schemas import EmployeeRead
from backoffice.files.repository import META_COLUMNS as FILE_COLUMNS
from backoffice.files.schemas import FileRead
from backoffice.items.repository import READ_COLUMNS as ITEM_COLUMNS
from backoffice.items.schemas import ItemRead
from backoffice.notifications.repository import READ_COLUMNS as NOTIFICATION_COLUMNS
from backoffice.notifications.schemas import NotificationRead
from backoffice.users.repository import READ as USER_READ
from backoffice.users.schemas import UserRead


@pytest.mark.parametrize(
    ("columns", "schema", "beyond_schema"),
    [
        (ACCOUNT_COLUMNS, AccountRead, set()),
        (EMPLOYEE_COLUMNS, EmployeeRead, set()),
        # The owner decides who may download; it is not in the response.
        (FILE_COLUMNS, FileRead, {"owner_id"}),
        (ITEM_COLUMNS, ItemRead, set()),
        (NOTIFICATION_COLUMNS, NotificationRead, set()),
        (USER_READ.selected_columns, UserRead, set()),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_read_columns_are_the_read_schemas_fields(
    columns: Iterable[Any], schema: type[BaseModel], beyond_schema: set[str]
) -> None:
    selected = {column.key for column in columns}
    assert selected - beyond_schema == set(schema.model_fields)
