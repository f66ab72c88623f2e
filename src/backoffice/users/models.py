"""The `users` table."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, String, true
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(IdMixin, TimestampMixin, Base):
    """Emails are stored lower-cased, so the plain unique constraint is case-insensitive."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'admin')", name="role"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(128))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default=Role.USER.value)
    is_active: Mapped[bool] = mapped_column(server_default=true())
