"""HTTP of the caller's profile and the admin's user management."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from backoffice.auth.dependencies import (
    AdminRequired,
    AdminUser,
    CallerCheckDep,
    CurrentUser,
    NoStore,
    forbid_caching,
)
from backoffice.auth.service import PasswordRefused, WrongCurrentPassword
from backoffice.auth.service_dependencies import AccountLifecycleDep, AuthServiceDep
from backoffice.errors import Throttled
from backoffice.errors import error_responses as errors
from backoffice.json_body import BodyRoute
from backoffice.pagination import Page
from backoffice.schemas import DbId
from backoffice.users.dependencies import (
    UserLookupDep,
    UserQueryDep,
    UserReadsDep,
    UserServiceDep,
)
from backoffice.users.repository import UserRow
from backoffice.users.schemas import (
    PasswordChange,
    UserAdminUpdate,
    UserDeletion,
    UserRead,
    UserUpdate,
)
from backoffice.users.service import CannotChangeSelf, CannotDeleteSelf, UserNotFound

router = APIRouter(prefix="/users", tags=["users"], route_class=BodyRoute)

UserId = Annotated[DbId, Path(description="User id")]


@router.get(
    "/me",
    response_model=UserRead,
    operation_id="users-me",
    summary="The signed-in user",
    responses=errors(401),
)
async def read_me(caller: CallerCheckDep, users: UserReadsDep, response: Response) -> UserRow:
    forbid_caching(response)  # here, not by the `NoStore` dependency: one solve less
    return await users.read_caller(caller)


@router.patch(
    "/me",
    response_model=UserRead,
    operation_id="users-update-me",
    dependencies=[NoStore],
    summary="Change the signed-in user's name, or ask to change the email (confirmed by a "
    "link mailed to the new address)",
    responses=errors(401, 422),
)
async def update_me(
    body: UserUpdate, user: CurrentUser, users: UserServiceDep, lifecycle: AccountLifecycleDep
) -> UserRow:
    return await users.update_profile(user.id, body, lifecycle)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users-change-password",
    summary="Change the password; every device is signed out",
    responses=errors(WrongCurrentPassword, 401, 422, Throttled),
)
async def change_password(
    body: PasswordChange, user: CurrentUser, auth: AuthServiceDep
) -> Response:
    await auth.change_password(user, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users-delete-me",
    summary="Delete the signed-in user and everything that is theirs",
    responses=errors(PasswordRefused, 401, CannotDeleteSelf, 422, Throttled),
)
async def delete_me(body: UserDeletion, user: CurrentUser, auth: AuthServiceDep) -> Response:
    await auth.delete_account(user, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    response_model=Page[UserRead],
    operation_id="users-list",
    summary="Every user (admin only)",
    responses=errors(401, AdminRequired, 422),
)
async def list_users(
    _: AdminUser,
    users: UserLookupDep,
    query: UserQueryDep,
) -> Page[UserRead]:
    rows, total = await users.list(query)
    return Page[UserRead].of(rows, total, query.page)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    operation_id="users-update",
    summary="Activate, deactivate, promote or demote a user (admin only)",
    responses=errors(401, AdminRequired, UserNotFound, CannotChangeSelf, 422),
)
async def update_user(
    user_id: UserId,
    body: UserAdminUpdate,
    admin: AdminUser,
    users: UserServiceDep,
    auth: AuthServiceDep,
) -> UserRow:
    return await users.admin_update(admin, user_id, body, auth)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users-delete",
    summary="Delete a user and everything that is theirs (admin only)",
    responses=errors(401, AdminRequired, UserNotFound, CannotDeleteSelf, 422),
)
async def delete_user(
    user_id: UserId, admin: AdminUser, users: UserServiceDep, auth: AuthServiceDep
) -> Response:
    await users.admin_delete(admin, user_id, auth)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
