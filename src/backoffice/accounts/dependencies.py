"""FastAPI dependencies of the accounts module, including the one ownership check."""

from typing import Annotated

from fastapi import Depends, Path, Query

from backoffice.accounts.repository import AccountRow
from backoffice.accounts.schemas import AccountQuery
from backoffice.accounts.service import AccountReads, AccountService
from backoffice.auth.dependencies import CurrentUser
from backoffice.db import SessionDep, on_request_session
from backoffice.notifications.dependencies import OutboxDep
from backoffice.schemas import DbId

AccountId = Annotated[DbId, Path(description="Account id")]


async def get_account_service(session: SessionDep, outbox: OutboxDep) -> AccountService:
    return AccountService(session, outbox)


AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]


AccountReadsDep = Annotated[AccountReads, on_request_session(AccountReads)]
"""For GETs, and for the account a write is about: no outbox, no delivery."""


async def valid_account_id(
    account_id: AccountId, user: CurrentUser, accounts: AccountReadsDep
) -> AccountRow:
    """The account in the path, loaded once per request: 404 unless the caller owns it
    or is an admin. Every route under `/accounts/{account_id}` depends on this."""
    return await accounts.get_for(user, account_id)


ValidAccount = Annotated[AccountRow, Depends(valid_account_id)]
AccountQueryDep = Annotated[AccountQuery, Query()]
