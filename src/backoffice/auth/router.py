"""HTTP of sign-in, refresh, sign-out and sessions."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status

from backoffice.auth.budgets import (
    AccountLinksBudget,
    LoginBody,
    RefreshBody,
    RegisterBudget,
    TokenForm,
)
from backoffice.auth.dependencies import CurrentUser, NoStore
from backoffice.auth.lifecycle import InvalidLinkToken, NothingToVerify
from backoffice.auth.schemas import (
    Accepted,
    EmailVerification,
    PasswordForgotten,
    PasswordReset,
    SessionRead,
    TokenPair,
)
from backoffice.auth.service import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
    SessionNotFound,
)
from backoffice.auth.service_dependencies import (
    AccountLifecycleDep,
    AuthServiceDep,
    SessionReadsDep,
)
from backoffice.errors import Throttled
from backoffice.errors import error_responses as errors
from backoffice.json_body import BodyRoute
from backoffice.pagination import ListQueryDep, Page
from backoffice.schemas import DbId
from backoffice.users.dependencies import UserServiceDep
from backoffice.users.repository import UserRow
from backoffice.users.schemas import UserCreate, UserRead
from backoffice.users.service import EmailTaken

router = APIRouter(prefix="/auth", tags=["auth"], route_class=BodyRoute)

UserAgent = Annotated[str | None, Header(include_in_schema=False)]
SessionId = Annotated[DbId, Path(description="Session id")]


def _device(explicit: str | None, user_agent: str | None) -> str | None:
    name = explicit or user_agent
    return name[:200] if name else None


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    operation_id="auth-register",
    dependencies=[RegisterBudget],
    summary="Create a user account; a link to confirm the address is mailed to it",
    responses=errors(EmailTaken, 422),
)
async def register(
    body: UserCreate, users: UserServiceDep, lifecycle: AccountLifecycleDep
) -> UserRow:
    return await users.register(body, verification=lifecycle)


@router.post(
    "/token",
    response_model=TokenPair,
    operation_id="auth-token",
    dependencies=[NoStore],
    summary="Sign in with the OAuth2 password form (Swagger's Authorize)",
    responses=errors(InvalidCredentials, EmailNotVerified, 422, Throttled),
    # Three fields (Swagger's Authorize may add `scope`, `client_id`, `client_secret`)
    # and no file: Starlette alone would read 1,000 of each before its 400.
    form_limits={"max_fields": 16, "max_files": 0},
)
async def token(
    form: TokenForm,
    auth: AuthServiceDep,
    user_agent: UserAgent = None,
) -> TokenPair:
    return await auth.login(form.username, form.password, _device(None, user_agent))


@router.post(
    "/login",
    response_model=TokenPair,
    operation_id="auth-login",
    dependencies=[NoStore],
    summary="Sign in with a JSON body (mobile clients)",
    responses=errors(InvalidCredentials, EmailNotVerified, 422, Throttled),
)
async def login(body: LoginBody, auth: AuthServiceDep, user_agent: UserAgent = None) -> TokenPair:
    return await auth.login(body.email, body.password, _device(body.device, user_agent))


@router.post(
    "/refresh",
    response_model=TokenPair,
    operation_id="auth-refresh",
    dependencies=[NoStore],
    summary="Trade a refresh token for a new pair",
    responses=errors(InvalidRefreshToken, RefreshTokenReused, 422),
)
async def refresh(body: RefreshBody, auth: AuthServiceDep) -> TokenPair:
    return await auth.refresh(body.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth-logout",
    summary="Revoke the sign-in a refresh token belongs to",
    responses=errors(422),
)
async def logout(body: RefreshBody, auth: AuthServiceDep) -> Response:
    await auth.logout(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth-logout-all",
    summary="Sign every device out, this one included",
    responses=errors(401),
)
async def logout_all(user: CurrentUser, auth: AuthServiceDep) -> Response:
    await auth.logout_all(user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/sessions",
    response_model=Page[SessionRead],
    operation_id="auth-sessions-list",
    summary="The caller's signed-in devices",
    responses=errors(401, 422),
)
async def list_sessions(
    user: CurrentUser, sessions: SessionReadsDep, query: ListQueryDep
) -> Page[SessionRead]:
    rows, total = await sessions.list(user, query)
    return Page[SessionRead].of(rows, total, query.page)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth-sessions-revoke",
    summary="Sign one device out",
    responses=errors(401, SessionNotFound, 422),
)
async def revoke_session(
    session_id: SessionId, user: CurrentUser, auth: AuthServiceDep
) -> Response:
    await auth.revoke_session(user, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


FORGOT_ANSWER = Accepted(detail=Accepted.example["detail"])
RESEND_ANSWER = Accepted(detail="A new confirmation link is on its way")


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    operation_id="auth-password-forgot",
    dependencies=[AccountLinksBudget],
    summary="Mail a password-reset link; the same answer whether or not the address has an account",
    responses=errors(422),
)
async def forgot_password(body: PasswordForgotten, lifecycle: AccountLifecycleDep) -> Accepted:
    await lifecycle.forgot_password(body.email)
    return FORGOT_ANSWER


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth-password-reset",
    dependencies=[AccountLinksBudget],
    summary="Set a new password with a mailed link's token; every device is signed out",
    responses=errors(InvalidLinkToken, 422),
)
async def reset_password(body: PasswordReset, lifecycle: AccountLifecycleDep) -> Response:
    await lifecycle.reset_password(body.token, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/email/verify",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth-email-verify",
    dependencies=[AccountLinksBudget],
    summary="Confirm an address with a mailed link's token (after sign-up or an email change)",
    responses=errors(InvalidLinkToken, EmailTaken, 422),
)
async def verify_email(body: EmailVerification, lifecycle: AccountLifecycleDep) -> Response:
    await lifecycle.verify_email(body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/email/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    operation_id="auth-email-verify-resend",
    summary="Mail a new confirmation link for the pending (or unverified) address",
    responses=errors(401, NothingToVerify),
)
async def resend_verification(user: CurrentUser, lifecycle: AccountLifecycleDep) -> Accepted:
    await lifecycle.resend_verification(user)
    return RESEND_ANSWER
