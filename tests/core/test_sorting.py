"""`sql.ordered`, the one sort every list uses: stable, NULLs last, index-friendly."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute

from backoffice.employees.models import Employee
from backoffice.pagination import SortOrder
from backoffice.sql import ordered


def order_by_sql(key: InstrumentedAttribute[Any], order: SortOrder) -> str:
    query = ordered(select(Employee.id), key, order, Employee.id)
    return str(query.compile(dialect=postgresql.dialect())).split("ORDER BY ")[1]


def test_a_nullable_key_puts_nulls_last_in_both_directions() -> None:
    assert order_by_sql(Employee.hired_on, SortOrder.ASC) == (
        "employees.hired_on ASC NULLS LAST, employees.id ASC"
    )
    assert order_by_sql(Employee.hired_on, SortOrder.DESC) == (
        "employees.hired_on DESC NULLS LAST, employees.id DESC"
    )


def test_a_not_null_key_has_no_nulls_clause_so_its_index_scans_backwards() -> None:
    assert order_by_sql(Employee.created_at, SortOrder.DESC) == (
        "employees.created_at DESC, employees.id DESC"
    )
