"""SQL of the `employees` table, through the session it is given (shaped as `accounts/`)."""

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.employees.models import Employee
from backoffice.employees.schemas import EmployeeCreate, EmployeeQuery, EmployeeSort, EmployeeUpdate
from backoffice.sql import (
    changes_of,
    columns_of,
    contains,
    fetch_page,
    insert_row,
    ordered,
    substring_pattern,
    typed,
    update_row,
)


class EmployeeRow(NamedTuple):
    """An employee as responses show it (`EmployeeRead`'s fields)."""

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


COLUMNS = columns_of(Employee, EmployeeRow)
SORT_KEYS = {
    EmployeeSort.FULL_NAME: Employee.full_name,
    EmployeeSort.HIRED_ON: Employee.hired_on,
    EmployeeSort.CREATED_AT: Employee.created_at,
}


def one(account_id: int, employee_id: int) -> ColumnElement[bool]:
    """An employee is always addressed within its account."""
    return (Employee.id == employee_id) & (Employee.account_id == account_id)


class EmployeeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, account_id: int, data: EmployeeCreate) -> EmployeeRow:
        values = {"account_id": account_id, **data.model_dump()}
        return await insert_row(self.session, Employee, EmployeeRow, values)

    async def get(self, account_id: int, employee_id: int) -> EmployeeRow | None:
        query = select(*COLUMNS).where(one(account_id, employee_id))
        return typed(EmployeeRow, (await self.session.execute(query)).one_or_none())

    async def list(self, account_id: int, query: EmployeeQuery) -> tuple[list[EmployeeRow], int]:
        """Ordered by the chosen column then id; rows without a `hired_on` come last."""
        stmt = ordered(select(*COLUMNS), SORT_KEYS[query.sort], query.order, Employee.id)
        stmt = stmt.where(Employee.account_id == account_id)
        if query.q:
            stmt = stmt.where(
                contains(substring_pattern(query.q), Employee.full_name, Employee.email)
            )
        if query.department is not None:
            stmt = stmt.where(Employee.department == query.department)
        if query.is_active is not None:
            stmt = stmt.where(Employee.is_active.is_(query.is_active))
        return await fetch_page(self.session, stmt, query.page, EmployeeRow)

    async def update(
        self, account_id: int, employee_id: int, data: EmployeeUpdate
    ) -> EmployeeRow | None:
        """None: no such employee in this account (or deleted meanwhile)."""
        where = one(account_id, employee_id)
        return await update_row(self.session, Employee, EmployeeRow, where, changes_of(data))

    async def delete(self, account_id: int, employee_id: int) -> str | None:
        """Delete one employee; its full name, or `None` when there was none."""
        full_name: str | None = (
            await self.session.execute(
                delete(Employee)
                .where(one(account_id, employee_id))
                .returning(Employee.full_name)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        return full_name
