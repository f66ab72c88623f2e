"""HTTP of the caller's profile and the admin's user management."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from backoffice.auth.dependencies import AdminUser, AuthServiceDep, CurrentUser, NoStore
from backoffice.errors import error_responses as errors
from backoffice.json_body import BodyRoute
from backoffice.pagination import Page, PageDep
from backoffice.schemas import DbId, SafeStr
from backoffice.users.dependencies import UserServiceDep
from backoffice.users.models import User
from backoffice.users.schemas import PasswordChange, UserAdminUpdate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], route_class=BodyRoute)

UserId = Annotated[DbId, Path(description="User id")]


@router.get(
    "/me",
    response_model=UserRead,
    operation_id="users-me",
    dependencies=[NoStore],
    summary="The signed-in user",
    responses=errors(401),
)
async def read_me(user: CurrentUser, users: UserServiceDep) -> Any:
    return await users.read(user.id)


@router.patch(
    "/me",
    response_model=UserRead,
    operation_id="users-update-me",
    dependencies=[NoStore],
    summary="Change the signed-in user's name or email",
    responses=errors(401, 409, 422),
)
async def update_me(body: UserUpdate, user: CurrentUser, users: UserServiceDep) -> User:
    return await users.update_profile(user.id, body)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users-change-password",
    summary="Change the password; every device is signed out",
    responses={
        **errors(401, 422, 429),
        400: {"description": "`wrong_password`: the current password is incorrect"},
    },
)
async def change_password(
    body: PasswordChange, user: CurrentUser, auth: AuthServiceDep
) -> Response:
    await auth.change_password(user, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    response_model=Page[UserRead],
    operation_id="users-list",
    summary="Every user (admin only)",
    responses=errors(401, 403, 422),
)
async def list_users(
    _: AdminUser,
    users: UserServiceDep,
    page: PageDep,
    q: Annotated[
        SafeStr | None, Query(max_length=200, description="Email or name contains")
    ] = None,
) -> Page[UserRead]:
    rows, total = await users.list(page, q)
    return Page[UserRead].of(rows, total, page)


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    operation_id="users-update",
    summary="Activate, deactivate, promote or demote a user (admin only)",
    responses=errors(401, 403, 404, 409, 422),
)
async def update_user(
    user_id: UserId, body: UserAdminUpdate, admin: AdminUser, users: UserServiceDep
) -> User:
    return await users.admin_update(admin, user_id, body)
