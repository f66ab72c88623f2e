"""FastAPI dependencies of the employees module."""

from typing import Annotated

from fastapi import Depends, Query

from backoffice.db import SessionDep
from backoffice.employees.schemas import EmployeeQuery, EmployeeSort
from backoffice.employees.service import EmployeeService
from backoffice.notifications.dependencies import OutboxDep
from backoffice.pagination import SortOrder
from backoffice.schemas import SafeStr


async def get_employee_service(session: SessionDep, outbox: OutboxDep) -> EmployeeService:
    return EmployeeService(session, outbox)


EmployeeServiceDep = Annotated[EmployeeService, Depends(get_employee_service)]


async def employee_query(
    q: Annotated[
        SafeStr | None,
        Query(max_length=200, description="Full name or email contains (case-insensitive)"),
    ] = None,
    department: Annotated[
        SafeStr | None, Query(max_length=100, description="Exactly this department")
    ] = None,
    is_active: Annotated[bool | None, Query(description="Only active or inactive")] = None,
    sort: Annotated[EmployeeSort, Query(description="Sort column; ties by id")] = (
        EmployeeSort.FULL_NAME
    ),
    order: Annotated[SortOrder, Query(description="Sort direction")] = SortOrder.ASC,
) -> EmployeeQuery:
    return EmployeeQuery(q=q, department=department, is_active=is_active, sort=sort, order=order)


EmployeeQueryDep = Annotated[EmployeeQuery, Depends(employee_query)]
