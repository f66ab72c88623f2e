"""HTTP of the accounts module."""

from fastapi import APIRouter, Response, status

from backoffice.accounts.dependencies import (
    AccountQueryDep,
    AccountReadsDep,
    AccountServiceDep,
    ValidAccount,
)
from backoffice.accounts.repository import AccountRow
from backoffice.accounts.schemas import AccountCreate, AccountRead, AccountUpdate
from backoffice.accounts.service import AccountNotFound
from backoffice.auth.dependencies import CurrentUser
from backoffice.errors import error_responses as errors
from backoffice.idempotency.route import IdempotentRoute
from backoffice.pagination import Page

router = APIRouter(prefix="/accounts", tags=["accounts"], route_class=IdempotentRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountRead,
    operation_id="accounts-create",
    summary="Create an account owned by the caller",
    responses=errors(401, 422),
)
async def create_account(
    body: AccountCreate, user: CurrentUser, accounts: AccountServiceDep
) -> AccountRow:
    return await accounts.create(user, body)


@router.get(
    "",
    response_model=Page[AccountRead],
    operation_id="accounts-list",
    summary="The caller's accounts (an admin's: all), by name",
    responses=errors(401, 422),
)
async def list_accounts(
    user: CurrentUser,
    accounts: AccountReadsDep,
    query: AccountQueryDep,
) -> Page[AccountRead]:
    rows, total = await accounts.list(user, query)
    return Page[AccountRead].of(rows, total, query.page)


@router.get(
    "/{account_id}",
    response_model=AccountRead,
    operation_id="accounts-get",
    summary="One account (owner or admin)",
    responses=errors(401, AccountNotFound, 422),
)
async def get_account(account: ValidAccount) -> AccountRow:
    return account


@router.patch(
    "/{account_id}",
    response_model=AccountRead,
    operation_id="accounts-update",
    summary="Rename an account or change its description (owner or admin)",
    responses=errors(401, AccountNotFound, 422),
)
async def update_account(
    body: AccountUpdate, account: ValidAccount, accounts: AccountServiceDep
) -> AccountRow:
    return await accounts.update(account, body)


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="accounts-delete",
    summary="Delete an account and its employees (owner or admin)",
    responses=errors(401, AccountNotFound, 422),
)
async def delete_account(account: ValidAccount, accounts: AccountServiceDep) -> Response:
    await accounts.delete(account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
