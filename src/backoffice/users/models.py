"""The `users` table."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, String, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(IdMixin, TimestampMixin, Base):
    """Emails are stored in one normal form (NFKC, case-folded): the plain unique
    constraint then ignores case and look-alike spellings."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'admin')", name="role"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(128))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default=Role.USER.value)
    is_active: Mapped[bool] = mapped_column(server_default=true())
    token_version: Mapped[int] = mapped_column(server_default=text("0"))
    """Carried by access tokens as `ver`; bumped to refuse every one issued before."""
    email_verified: Mapped[bool] = mapped_column(server_default=false())
    """The owner of `email` followed a link sent to it (or the operator vouched for it)."""
    pending_email: Mapped[str | None] = mapped_column(String(320))
    """An address the user asked to switch to; `email` changes once a link sent to it is
    followed."""
