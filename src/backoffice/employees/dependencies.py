"""FastAPI dependencies of the employees module."""

from typing import Annotated

from fastapi import Depends, Query

from backoffice.db import SessionDep, on_request_session
from backoffice.employees.schemas import EmployeeQuery
from backoffice.employees.service import EmployeeReads, EmployeeService
from backoffice.notifications.dependencies import OutboxDep


async def get_employee_service(session: SessionDep, outbox: OutboxDep) -> EmployeeService:
    return EmployeeService(session, outbox)


EmployeeServiceDep = Annotated[EmployeeService, Depends(get_employee_service)]


EmployeeReadsDep = Annotated[EmployeeReads, on_request_session(EmployeeReads)]
EmployeeQueryDep = Annotated[EmployeeQuery, Query()]
