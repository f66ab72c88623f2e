"""Request and response models of sign-in, token refresh and sessions."""

from datetime import datetime
from typing import ClassVar

from pydantic import EmailStr, Field

from backoffice.schemas import Email, Example, ReadModel, RequestModel
from backoffice.users.schemas import NewPassword


class LoginRequest(RequestModel):
    email: EmailStr
    password: str = Field(max_length=1024)
    device: str | None = Field(default=None, max_length=200)

    example: ClassVar[Example] = {
        "email": "ada@example.com",
        "password": "correct-horse-battery-staple",
        "device": "Pixel 8",
    }


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=512)

    example: ClassVar[Example] = {"refresh_token": "Yx3kR0v8bQm2Jt5nWc9ZpL1hD4sF7gA6eU0iO2yT"}


class TokenPair(ReadModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int = Field(description="Access token lifetime in seconds")

    example: ClassVar[Example] = {
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc0MTk0Njgx"
        "M30.9l0pJ4dL3sWm0Jq6P0l2cQ6mC7XlTq1c8b4uYk2x5rA",
        "refresh_token": "Yx3kR0v8bQm2Jt5nWc9ZpL1hD4sF7gA6eU0iO2yT",
        "token_type": "bearer",
        "expires_in": 900,
    }


class SessionRead(ReadModel):
    id: int = Field(description="The session (refresh-token family) id")
    device: str | None
    created_at: datetime
    last_used_at: datetime

    example: ClassVar[Example] = {
        "id": 9,
        "device": "Pixel 8",
        "created_at": "2025-03-14T09:26:53Z",
        "last_used_at": "2025-03-15T17:02:11Z",
    }


class PasswordForgotten(RequestModel):
    email: Email

    example: ClassVar[Example] = {"email": "ada@example.com"}


class LinkTokenBody(RequestModel):
    """A body carrying a mailed link's token: whatever string it is, a wrong one is the
    service's 400 `invalid_token`, never a validation error."""

    token: str = Field(
        description="The `token` query value of the link in the mail; any other string "
        "(unknown, spent, expired, malformed) is a 400 `invalid_token`"
    )

    nul_allowed: ClassVar[frozenset[str]] = frozenset({"token"})


class PasswordReset(LinkTokenBody):
    new_password: NewPassword

    example: ClassVar[Example] = {
        "token": "q8vN3xT0bKp5Wm2Yc7Lr9Hd4Sj6Fg1Ae0Ui8Oy3Tz5w",
        "new_password": "analytical-engine-1843",
    }


class EmailVerification(LinkTokenBody):
    example: ClassVar[Example] = {"token": "q8vN3xT0bKp5Wm2Yc7Lr9Hd4Sj6Fg1Ae0Ui8Oy3Tz5w"}


class Accepted(ReadModel):
    """A 202: the request was taken; what follows comes by mail."""

    detail: str

    example: ClassVar[Example] = {
        "detail": "If the address belongs to an active account, a link is on its way"
    }
