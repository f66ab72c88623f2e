"""Request budgets keyed by what an auth request proves, spent before any database work.

Each is a dependency that runs once the body is parsed: a sign-in counts against its
email, a refresh or sign-out against the sign-in (token family) its refresh token's tag
proves, and what proves nothing (a registration, an untagged refresh token) against the
client address. So people behind one address (a carrier NAT, an office) do not spend
each other's budgets, while floods from one address still meet a small budget.
"""

from operator import attrgetter
from typing import Annotated

from fastapi import Depends, Request

from backoffice.auth.dependencies import PasswordForm, PasswordFormDep
from backoffice.auth.schemas import LoginRequest, RefreshRequest
from backoffice.ratelimit import spend_route_budget
from backoffice.schemas import normalize_email
from backoffice.security import refresh_token_family
from backoffice.settings import SettingsDep

SIGN_IN = attrgetter("sign_in")
REFRESH = attrgetter("refresh")
UNPROVEN_REFRESH = attrgetter("unproven_refresh")
REGISTER = attrgetter("register")
ACCOUNT_LINKS = attrgetter("account_links")


def _sign_in(request: Request, email: str) -> None:
    """Keyed as the service keys accounts, so no spelling of one email gets a budget of its own."""
    spend_route_budget(request, SIGN_IN, f"email:{normalize_email(email)}")


async def login_body(body: LoginRequest, request: Request) -> LoginRequest:
    _sign_in(request, body.email)
    return body


async def token_form(form: PasswordFormDep, request: Request) -> PasswordForm:
    _sign_in(request, form.username)
    return form


async def refresh_body(
    body: RefreshRequest, request: Request, settings: SettingsDep
) -> RefreshRequest:
    family = refresh_token_family(settings, body.refresh_token)
    if family is None:
        spend_route_budget(request, UNPROVEN_REFRESH)
    else:
        spend_route_budget(request, REFRESH, f"family:{family}")
    return body


async def register_budget(request: Request) -> None:
    spend_route_budget(request, REGISTER)


async def account_links_budget(request: Request) -> None:
    """Forgotten password, reset and verification prove nothing before the database:
    per address, as registration is."""
    spend_route_budget(request, ACCOUNT_LINKS)


LoginBody = Annotated[LoginRequest, Depends(login_body)]
TokenForm = Annotated[PasswordForm, Depends(token_form)]
RefreshBody = Annotated[RefreshRequest, Depends(refresh_body)]
RegisterBudget = Depends(register_budget)
AccountLinksBudget = Depends(account_links_budget)
