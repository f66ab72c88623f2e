"""Request and response models of users and their passwords."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from backoffice.pagination import ListQuery
from backoffice.schemas import Email, Example, Flag, ReadModel, RequestModel, SafeStr
from backoffice.security import MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES
from backoffice.users.models import Role


def _password_bytes(value: str) -> str:
    """The byte rule, and the character minimum the schema states (8 characters are at
    least 8 bytes; at most 72 bytes are at most 72 characters)."""
    size = len(value.encode())
    if size < MIN_PASSWORD_BYTES:
        raise ValueError(f"password must be at least {MIN_PASSWORD_BYTES} bytes")
    if len(value) < MIN_PASSWORD_BYTES:
        raise ValueError(f"password must be at least {MIN_PASSWORD_BYTES} characters")
    if size > MAX_PASSWORD_BYTES:
        raise ValueError(
            f"password must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8 "
            "(bcrypt ignores the rest); use fewer or single-byte characters"
        )
    return value


NewPassword = Annotated[
    str,
    Field(
        json_schema_extra={"minLength": MIN_PASSWORD_BYTES, "maxLength": MAX_PASSWORD_BYTES},
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

    example: ClassVar[Example] = {
        "email": "ada@example.com",
        "password": "correct-horse-battery-staple",
        "full_name": "Ada Lovelace",
    }


class UserUpdate(RequestModel):
    full_name: FullName | None = None
    email: Email | None = None

    example: ClassVar[Example] = {"full_name": "Ada King", "email": "ada.king@example.com"}


class UserAdminUpdate(RequestModel):
    is_active: Flag | None = None
    role: Role | None = None

    example: ClassVar[Example] = {"is_active": True, "role": "admin"}


class PasswordChange(RequestModel):
    current_password: str = Field(max_length=1024)
    new_password: NewPassword

    example: ClassVar[Example] = {
        "current_password": "correct-horse-battery-staple",
        "new_password": "analytical-engine-1843",
    }


class UserDeletion(RequestModel):
    password: str = Field(max_length=1024, description="The current password")

    example: ClassVar[Example] = {"password": "correct-horse-battery-staple"}


class UserRead(ReadModel):
    id: int
    email: str
    email_verified: bool = Field(description="A link mailed to `email` was followed")
    pending_email: str | None = Field(
        description="An address asked for in `PATCH /users/me`, not confirmed yet: `email` "
        "changes once the link mailed to it is followed"
    )
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime

    example: ClassVar[Example] = {
        "id": 42,
        "email": "ada@example.com",
        "email_verified": True,
        "pending_email": "ada.king@example.com",
        "full_name": "Ada Lovelace",
        "role": "user",
        "is_active": True,
        "created_at": "2025-03-14T09:26:53Z",
        "updated_at": "2025-03-15T17:02:11Z",
    }


class UserQuery(ListQuery):
    q: Annotated[SafeStr | None, Field(max_length=200, description="Email or name contains")] = None
