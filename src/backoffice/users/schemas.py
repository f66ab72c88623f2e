"""Request and response models of users and their passwords."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from backoffice.pagination import ListQuery
from backoffice.schemas import Email, Flag, ReadModel, RequestModel, SafeStr
from backoffice.security import MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES
from backoffice.users.models import Role


def _password_bytes(value: str) -> str:
    size = len(value.encode())
    if size < MIN_PASSWORD_BYTES:
        raise ValueError(f"password must be at least {MIN_PASSWORD_BYTES} bytes")
    if size > MAX_PASSWORD_BYTES:
        raise ValueError(
            f"password must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8 "
            "(bcrypt ignores the rest); use fewer or single-byte characters"
        )
    return value


NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_BYTES,
        max_length=MAX_PASSWORD_BYTES,
        description=f"{MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes in UTF-8 (bcrypt reads "
        "no more): the character bounds here are what JSON Schema can say, a character "
        "outside ASCII takes 2 to 4 of the bytes",
    ),
    AfterValidator(_password_bytes),
]
FullName = Annotated[str, Field(min_length=1, max_length=200)]


class UserCreate(RequestModel):
    email: Email
    password: NewPassword
    full_name: FullName


class UserUpdate(RequestModel):
    full_name: FullName | None = None
    email: Email | None = None


class UserAdminUpdate(RequestModel):
    is_active: Flag | None = None
    role: Role | None = None


class PasswordChange(RequestModel):
    current_password: str = Field(max_length=1024)
    new_password: NewPassword


class UserRead(ReadModel):
    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserQuery(ListQuery):
    q: Annotated[SafeStr | None, Field(max_length=200, description="Email or name contains")] = None
