"""FastAPI dependencies of the users module."""

from typing import Annotated

from fastapi import Depends, Query, Request

from backoffice.db import SessionDep, database_of, on_request_session
from backoffice.security import PasswordHasher
from backoffice.users.schemas import UserQuery
from backoffice.users.service import UserLookup, UserReads, UserService


def password_hasher_of(request: Request) -> PasswordHasher:
    """The app's one bcrypt queue (`security.PasswordHasher`, made by `create_app`)."""
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


async def get_user_service(request: Request, session: SessionDep) -> UserService:
    return UserService(session, password_hasher_of(request))


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


UserLookupDep = Annotated[UserLookup, on_request_session(UserLookup)]


async def get_user_reads(request: Request) -> UserReads:
    """For `GET /users/me`: no settings, and the session opened by the read itself
    (`Database.read`)."""
    return UserReads(database_of(request))


UserReadsDep = Annotated[UserReads, Depends(get_user_reads)]
UserQueryDep = Annotated[UserQuery, Query()]
