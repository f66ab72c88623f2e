"""FastAPI dependencies of the users module."""

from typing import Annotated

from fastapi import Depends, Query

from backoffice.db import SessionDep
from backoffice.settings import SettingsDep
from backoffice.users.schemas import UserQuery
from backoffice.users.service import UserReads, UserService


async def get_user_service(session: SessionDep, settings: SettingsDep) -> UserService:
    return UserService(session, settings)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


async def get_user_reads(session: SessionDep) -> UserReads:
    """For `GET /users/me`: one dependency less than the service (no settings)."""
    return UserReads(session)


UserReadsDep = Annotated[UserReads, Depends(get_user_reads)]
UserQueryDep = Annotated[UserQuery, Query()]
