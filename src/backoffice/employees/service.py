"""Rules about employees: always within an account the caller may use.

The account comes from the accounts module (`valid_account_id`, which asks
`AccountReads.get_for`): this module never reads the accounts table itself.
Notifications go to the account's owner, whoever (owner or admin) made the change.
"""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.accounts.service import AccountNotFound
from backoffice.employees.repository import EmployeeRepository, EmployeeRow
from backoffice.employees.schemas import EmployeeCreate, EmployeeQuery, EmployeeUpdate
from backoffice.errors import Conflict, NotFound
from backoffice.notifications.outbox import Outbox
from backoffice.sql import ConstraintErrors, integrity_errors


class AccountLike(Protocol):
    """What this module needs to know about an account."""

    @property
    def id(self) -> int: ...

    @property
    def owner_id(self) -> int: ...


class EmployeeNotFound(NotFound):
    code = "employee_not_found"
    message = "Employee not found"


class EmployeeEmailTaken(Conflict):
    code = "employee_email_taken"
    message = "An employee with this email already exists in this account"


CONSTRAINT_ERRORS: ConstraintErrors = {
    "uq_employees_account_id": EmployeeEmailTaken,
    # The account was found a moment ago, but a concurrent request may have deleted it
    # since: the answer is the 404 the request would have got a moment later.
    "fk_employees_account_id_accounts": AccountNotFound,
}


class EmployeeReads:
    """An account's employees, read in the request's session; builds no outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = EmployeeRepository(session)

    async def list(
        self, account: AccountLike, query: EmployeeQuery
    ) -> tuple[list[EmployeeRow], int]:
        return await self.repo.list(account.id, query)

    async def get(self, account: AccountLike, employee_id: int) -> EmployeeRow:
        employee = await self.repo.get(account.id, employee_id)
        if employee is None:
            raise EmployeeNotFound()
        return employee


class EmployeeService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = EmployeeRepository(session)

    async def add(self, account: AccountLike, data: EmployeeCreate) -> EmployeeRow:
        """A duplicate email is 409; an account deleted meanwhile 404."""
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            employee = await self.repo.add(account.id, data)
            await self.outbox.notify(
                account.owner_id,
                "employee_added",
                f"{employee.full_name} was added to your account",
                data={"account_id": account.id, "employee_id": employee.id},
            )
            await self.session.commit()
        return employee

    async def update(
        self, account: AccountLike, employee_id: int, data: EmployeeUpdate
    ) -> EmployeeRow:
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            employee = await self.repo.update(account.id, employee_id, data)
            if employee is None:
                raise EmployeeNotFound()
            await self.session.commit()
        return employee

    async def remove(self, account: AccountLike, employee_id: int) -> None:
        full_name = await self.repo.delete(account.id, employee_id)
        if full_name is None:
            raise EmployeeNotFound()
        await self.outbox.notify(
            account.owner_id,
            "employee_removed",
            f"{full_name} was removed from your account",
            data={"account_id": account.id, "employee_id": employee_id},
        )
        await self.session.commit()
