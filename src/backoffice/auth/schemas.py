"""Request and response models of sign-in, token refresh and sessions."""

from datetime import datetime

from pydantic import EmailStr, Field

from backoffice.schemas import ReadModel, RequestModel


class LoginRequest(RequestModel):
    email: EmailStr
    password: str = Field(max_length=1024)
    device: str | None = Field(default=None, max_length=200)


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPair(ReadModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int = Field(description="Access token lifetime in seconds")


class SessionRead(ReadModel):
    id: int = Field(description="The session (refresh-token family) id")
    device: str | None
    created_at: datetime
    last_used_at: datetime
