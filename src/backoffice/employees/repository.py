"""SQL of the `employees` table, through the session it is given."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.employees.models import Employee
from backoffice.employees.schemas import EmployeeQuery, EmployeeSort
from backoffice.pagination import PageParams, SortOrder
from backoffice.sql import contains, fetch_page

EmployeeRecord = Row[*tuple[Any, ...]]

COLUMNS = (
    Employee.id,
    Employee.account_id,
    Employee.full_name,
    Employee.email,
    Employee.title,
    Employee.department,
    Employee.hired_on,
    Employee.is_active,
    Employee.created_at,
    Employee.updated_at,
)
SORT_COLUMNS = {
    EmployeeSort.FULL_NAME: Employee.full_name,
    EmployeeSort.HIRED_ON: Employee.hired_on,
    EmployeeSort.CREATED_AT: Employee.created_at,
}


class EmployeeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> EmployeeRecord:
        return (
            await self.session.execute(insert(Employee).values(**values).returning(*COLUMNS))
        ).one()

    async def get(self, account_id: int, employee_id: int) -> EmployeeRecord | None:
        return (
            await self.session.execute(
                select(*COLUMNS).where(
                    Employee.id == employee_id, Employee.account_id == account_id
                )
            )
        ).one_or_none()

    async def list(
        self, account_id: int, query: EmployeeQuery, page: PageParams
    ) -> tuple[Sequence[EmployeeRecord], int]:
        """Ordered by the chosen column then id, in the chosen direction; rows without a
        `hired_on` come last either way."""
        column = SORT_COLUMNS[query.sort]
        if query.order is SortOrder.DESC:
            order = (column.desc().nulls_last(), Employee.id.desc())
        else:
            order = (column.asc().nulls_last(), Employee.id.asc())
        stmt = select(*COLUMNS).where(Employee.account_id == account_id).order_by(*order)
        if query.q:
            stmt = stmt.where(contains(query.q, Employee.full_name, Employee.email))
        if query.department is not None:
            stmt = stmt.where(Employee.department == query.department)
        if query.is_active is not None:
            stmt = stmt.where(Employee.is_active.is_(query.is_active))
        return await fetch_page(self.session, stmt, page)

    async def update(
        self, account_id: int, employee_id: int, **values: Any
    ) -> EmployeeRecord | None:
        return (
            await self.session.execute(
                update(Employee)
                .where(Employee.id == employee_id, Employee.account_id == account_id)
                .values(**values)
                .returning(*COLUMNS)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()

    async def delete(self, account_id: int, employee_id: int) -> str | None:
        """Delete one employee; its full name, or `None` when there was none."""
        full_name: str | None = (
            await self.session.execute(
                delete(Employee)
                .where(Employee.id == employee_id, Employee.account_id == account_id)
                .returning(Employee.full_name)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        return full_name
