"""HTTP of the employees module, nested under the account they belong to.

Every route depends on `ValidAccount`: the account is loaded (and its ownership
checked) once, and another user's account answers 404 before anything else happens.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from backoffice.accounts.dependencies import ValidAccount
from backoffice.accounts.service import AccountNotFound
from backoffice.employees.dependencies import (
    EmployeeQueryDep,
    EmployeeReadsDep,
    EmployeeServiceDep,
)
from backoffice.employees.repository import EmployeeRow
from backoffice.employees.schemas import EmployeeCreate, EmployeeRead, EmployeeUpdate
from backoffice.employees.service import EmployeeEmailTaken, EmployeeNotFound
from backoffice.errors import error_responses as errors
from backoffice.idempotency.route import IdempotentRoute
from backoffice.pagination import Page
from backoffice.schemas import DbId

router = APIRouter(
    prefix="/accounts/{account_id}/employees", tags=["employees"], route_class=IdempotentRoute
)

EmployeeId = Annotated[DbId, Path(description="Employee id")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EmployeeRead,
    operation_id="employees-create",
    summary="Add an employee to an account",
    responses=errors(401, AccountNotFound, EmployeeEmailTaken, 422),
)
async def create_employee(
    body: EmployeeCreate, account: ValidAccount, employees: EmployeeServiceDep
) -> EmployeeRow:
    return await employees.add(account, body)


@router.get(
    "",
    response_model=Page[EmployeeRead],
    operation_id="employees-list",
    summary="An account's employees, filtered and sorted",
    responses=errors(401, AccountNotFound, 422),
)
async def list_employees(
    account: ValidAccount, employees: EmployeeReadsDep, query: EmployeeQueryDep
) -> Page[EmployeeRead]:
    rows, total = await employees.list(account, query)
    return Page[EmployeeRead].of(rows, total, query.page)


@router.get(
    "/{employee_id}",
    response_model=EmployeeRead,
    operation_id="employees-get",
    summary="One employee",
    responses=errors(401, AccountNotFound, EmployeeNotFound, 422),
)
async def get_employee(
    employee_id: EmployeeId, account: ValidAccount, employees: EmployeeReadsDep
) -> EmployeeRow:
    return await employees.get(account, employee_id)


@router.patch(
    "/{employee_id}",
    response_model=EmployeeRead,
    operation_id="employees-update",
    summary="Change an employee",
    responses=errors(401, AccountNotFound, EmployeeNotFound, EmployeeEmailTaken, 422),
)
async def update_employee(
    employee_id: EmployeeId,
    body: EmployeeUpdate,
    account: ValidAccount,
    employees: EmployeeServiceDep,
) -> EmployeeRow:
    return await employees.update(account, employee_id, body)


@router.delete(
    "/{employee_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="employees-delete",
    summary="Remove an employee",
    responses=errors(401, AccountNotFound, EmployeeNotFound, 422),
)
async def delete_employee(
    employee_id: EmployeeId, account: ValidAccount, employees: EmployeeServiceDep
) -> Response:
    await employees.remove(account, employee_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
