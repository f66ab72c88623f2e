"""The auth module's services as dependencies, apart from `dependencies.py`.

Every protected route imports `dependencies.py` for its caller check, the notifications
module's included; the outbox that `AuthService` writes to is wired here, so that the
caller check imports nothing of notifications.
"""

from typing import Annotated

from fastapi import Depends

from backoffice.auth.service import AuthService, SessionReads
from backoffice.db import SessionDep
from backoffice.notifications.dependencies import OutboxDep
from backoffice.settings import SettingsDep


async def get_auth_service(
    session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> AuthService:
    return AuthService(session, settings, outbox)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_session_reads(session: SessionDep) -> SessionReads:
    """For `GET /auth/sessions`: no outbox, no delivery, no users service."""
    return SessionReads(session)


SessionReadsDep = Annotated[SessionReads, Depends(get_session_reads)]
