"""The auth module's services as dependencies, apart from `dependencies.py`.

Every protected route imports `dependencies.py` for its caller check, the notifications
module's included; the outboxes that `AuthService` and `AccountLifecycle` write to are
wired here, so that the caller check imports nothing of notifications or mail.
"""

from typing import Annotated

from fastapi import Depends, Request

from backoffice.auth.lifecycle import AccountLifecycle
from backoffice.auth.service import AuthService, SessionReads
from backoffice.db import SessionDep, on_request_session
from backoffice.mail.dependencies import MailOutboxDep
from backoffice.notifications.dependencies import OutboxDep
from backoffice.settings import SettingsDep
from backoffice.users.dependencies import password_hasher_of

SessionReadsDep = Annotated[SessionReads, on_request_session(SessionReads)]


async def get_auth_service(
    request: Request, session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> AuthService:
    return AuthService(session, settings, password_hasher_of(request), outbox)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_account_lifecycle(
    request: Request, session: SessionDep, settings: SettingsDep, mails: MailOutboxDep
) -> AccountLifecycle:
    return AccountLifecycle(session, settings, password_hasher_of(request), mails)


AccountLifecycleDep = Annotated[AccountLifecycle, Depends(get_account_lifecycle)]
