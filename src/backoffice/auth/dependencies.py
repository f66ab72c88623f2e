"""Who is calling: the bearer-token dependencies every protected route uses."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordBearer

from backoffice.auth.service import AuthService, authenticate
from backoffice.db import SessionDep
from backoffice.errors import Forbidden, Unauthorized
from backoffice.notifications.dependencies import OutboxDep
from backoffice.principal import Principal
from backoffice.settings import Settings, SettingsDep
from backoffice.users.service import UserService

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True, slots=True)
class PasswordForm:
    username: str
    password: str


async def password_form(
    username: Annotated[str, Form(min_length=1, max_length=320, description="The email")],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> PasswordForm:
    """The OAuth2 password form, as an async dependency with bounded fields.

    FastAPI's `OAuth2PasswordRequestForm` is a class dependency, which runs in the
    thread pool, and leaves the fields unbounded.
    """
    return PasswordForm(username=username, password=password)


PasswordFormDep = Annotated[PasswordForm, Depends(password_form)]


async def get_auth_service(
    session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> AuthService:
    return AuthService(session, settings, outbox)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def current_user(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """Every protected route runs this: it takes no more dependencies than it needs."""
    if not token:
        raise Unauthorized("Not authenticated")
    settings: Settings = request.app.state.settings
    state = request.scope.setdefault("state", {})
    principal = await authenticate(settings, UserService(session, settings), token, state)
    state["user_id"] = principal.id
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


class AdminRequired(Forbidden):
    code = "admin_required"
    message = "Admin role required"


async def admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise AdminRequired()
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]


async def no_store(response: Response) -> None:
    """Tokens and the caller's profile must not sit in any cache (RFC 6749 section 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


NoStore = Depends(no_store)
