"""Rules about accounts: who may see and change which, and the transaction boundary."""

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.accounts.repository import AccountRepository, AccountRow
from backoffice.accounts.schemas import AccountCreate, AccountQuery, AccountUpdate
from backoffice.errors import NotFound
from backoffice.notifications.outbox import Outbox
from backoffice.principal import Principal


class AccountNotFound(NotFound):
    code = "account_not_found"
    message = "Account not found"


class AccountReads:
    """The accounts' reads, in the session it is given: a GET's, or a write's own (where
    `valid_account_id` finds the account a change is about). Builds no outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = AccountRepository(session)

    async def list(self, user: Principal, query: AccountQuery) -> tuple[list[AccountRow], int]:
        """The caller's accounts (an admin's: everyone's), by name then id."""
        return await self.repo.list(None if user.is_admin else user.id, query)

    async def get_for(self, user: Principal, account_id: int) -> AccountRow:
        """The account if the caller owns it or is an admin; otherwise it does not exist."""
        account = await self.repo.get(account_id, None if user.is_admin else user.id)
        if account is None:
            raise AccountNotFound()
        return account


class AccountService:
    """The accounts' writes; the account a change is about comes from `AccountReads.get_for`."""

    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = AccountRepository(session)

    async def create(self, owner: Principal, data: AccountCreate) -> AccountRow:
        """The caller becomes the owner, and is notified in the same transaction."""
        account = await self.repo.add(owner.id, data)
        await self.outbox.notify(
            owner.id,
            "account_created",
            f"Account '{account.name}' was created",
            data={"account_id": account.id},
        )
        await self.session.commit()
        return account

    async def update(self, account: AccountRow, data: AccountUpdate) -> AccountRow:
        """`account` comes from `AccountReads.get_for`, so the caller may change it."""
        updated = await self.repo.update(account.id, data)
        if updated is None:  # deleted by a concurrent request
            raise AccountNotFound()
        await self.session.commit()
        return updated

    async def delete(self, account: AccountRow) -> None:
        """Removes its employees too (database cascade)."""
        if not await self.repo.delete(account.id):
            raise AccountNotFound()
        await self.session.commit()
