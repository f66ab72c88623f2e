"""Rules about employees: always within an account the caller may use.

The account comes from the accounts module (`valid_account_id`, which asks
`AccountService.get_for`): this module never reads the accounts table itself.
Notifications go to the account's owner, whoever (owner or admin) made the change.
"""

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.accounts.service import AccountNotFound
from backoffice.employees.repository import EmployeeRecord, EmployeeRepository
from backoffice.employees.schemas import EmployeeCreate, EmployeeQuery, EmployeeUpdate
from backoffice.errors import Conflict, NotFound
from backoffice.notifications.outbox import Outbox
from backoffice.pagination import PageParams
from backoffice.sql import is_foreign_key_violation, is_unique_violation


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


class EmployeeService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = EmployeeRepository(session)

    async def add(self, account: AccountLike, data: EmployeeCreate) -> EmployeeRecord:
        """A duplicate email is 409. The account was found a moment ago, but a concurrent
        request may have deleted it since: the insert then breaks the foreign key, and
        the answer is the 404 the request would have got a moment later."""
        try:
            employee = await self.repo.add(account_id=account.id, **data.model_dump())
        except IntegrityError as exc:
            await self.session.rollback()
            if is_unique_violation(exc):
                raise EmployeeEmailTaken() from exc
            if is_foreign_key_violation(exc):
                raise AccountNotFound() from exc
            raise
        await self.outbox.notify(
            account.owner_id,
            "employee_added",
            f"{employee.full_name} was added to your account",
            data={"account_id": account.id, "employee_id": employee.id},
        )
        await self.session.commit()
        return employee

    async def list(
        self, account: AccountLike, query: EmployeeQuery, page: PageParams
    ) -> tuple[Sequence[EmployeeRecord], int]:
        return await self.repo.list(account.id, query, page)

    async def get(self, account: AccountLike, employee_id: int) -> EmployeeRecord:
        employee = await self.repo.get(account.id, employee_id)
        if employee is None:
            raise EmployeeNotFound()
        return employee

    async def update(
        self, account: AccountLike, employee_id: int, data: EmployeeUpdate
    ) -> EmployeeRecord:
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        if not changes:
            return await self.get(account, employee_id)
        try:
            employee = await self.repo.update(account.id, employee_id, **changes)
        except IntegrityError as exc:
            await self.session.rollback()
            if not is_unique_violation(exc):
                raise
            raise EmployeeEmailTaken() from exc
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
