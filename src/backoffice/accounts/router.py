"""HTTP of the accounts module."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from backoffice.accounts.dependencies import AccountServiceDep, ValidAccount
from backoffice.accounts.schemas import AccountCreate, AccountRead, AccountUpdate
from backoffice.accounts.service import AccountRecord
from backoffice.auth.dependencies import CurrentUser
from backoffice.errors import error_responses as errors
from backoffice.idempotency.route import IdempotentRoute
from backoffice.pagination import Page, PageDep
from backoffice.schemas import SafeStr

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
) -> AccountRecord:
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
    accounts: AccountServiceDep,
    page: PageDep,
    q: Annotated[
        SafeStr | None, Query(max_length=200, description="Name contains (case-insensitive)")
    ] = None,
) -> Page[AccountRead]:
    rows, total = await accounts.list(user, page, q)
    return Page[AccountRead].of(rows, total, page)


@router.get(
    "/{account_id}",
    response_model=AccountRead,
    operation_id="accounts-get",
    summary="One account (owner or admin)",
    responses=errors(401, 404, 422),
)
async def get_account(account: ValidAccount) -> AccountRecord:
    return account


@router.patch(
    "/{account_id}",
    response_model=AccountRead,
    operation_id="accounts-update",
    summary="Rename an account or change its description (owner or admin)",
    responses=errors(401, 404, 422),
)
async def update_account(
    body: AccountUpdate, account: ValidAccount, accounts: AccountServiceDep
) -> AccountRecord:
    return await accounts.update(account, body)


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="accounts-delete",
    summary="Delete an account and its employees (owner or admin)",
    responses=errors(401, 404, 422),
)
async def delete_account(account: ValidAccount, accounts: AccountServiceDep) -> Response:
    await accounts.delete(account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
