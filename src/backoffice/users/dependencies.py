"""FastAPI dependencies of the users module."""

from typing import Annotated

from fastapi import Depends, Query, Request

from backoffice.db import SessionDep, on_request_session, read_sessions_of
from backoffice.settings import SettingsDep
from backoffice.users.schemas import UserQuery
from backoffice.users.service import UserLookup, UserReads, UserService


async def get_user_service(session: SessionDep, settings: SettingsDep) -> UserService:
    return UserService(session, settings)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


UserLookupDep = Annotated[UserLookup, on_request_session(UserLookup)]


async def get_user_reads(request: Request) -> UserReads:
    """For `GET /users/me`: no settings, and the session opened by the read itself
    (`db.ReadSession`)."""
    return UserReads(read_sessions_of(request))


UserReadsDep = Annotated[UserReads, Depends(get_user_reads)]
UserQueryDep = Annotated[UserQuery, Query()]
