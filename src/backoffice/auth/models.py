"""Refresh tokens and one-time link tokens (stored as digests), and failed login attempts."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin


class RefreshToken(IdMixin, Base):
    """One row per issued refresh token; a family is every token descended from one login.

    `family_id` is the id of the family's first token, so a session has an integer id.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_user_id_family_id", "user_id", "family_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[int] = mapped_column(BigInteger, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("refresh_tokens.id", ondelete="SET NULL")
    )


class LoginAttempt(IdMixin, Base):
    """A failed login, kept in PostgreSQL so every replica enforces the same throttle."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempts_attempted_at", "attempted_at"),
    )

    email: Mapped[str] = mapped_column(String(320))
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class OneTimeToken(IdMixin, Base):
    """The token of a password-reset or email-verification link, as its SHA-256 digest.

    `email` is the address the link was sent to: a reset is good only while it is still
    the account's, a verification confirms exactly it. A forgotten-password request for
    an address with no active account writes its row too (without a user), so the
    request does the same work either way and the per-address throttle, counted here,
    holds whether or not the address has an account.
    """

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('password_reset', 'verify_email')", name="purpose"),
        Index("ix_one_time_tokens_email_purpose_created_at", "email", "purpose", "created_at"),
        Index("ix_one_time_tokens_user_id_purpose", "user_id", "purpose"),
        Index("ix_one_time_tokens_expires_at", "expires_at"),
    )

    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
