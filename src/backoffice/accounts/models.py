"""The `accounts` table."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin, TimestampMixin


class Account(IdMixin, TimestampMixin, Base):
    """An organisation owned by one user; deleting the user deletes their accounts.

    Indexes: `(owner_id, name, id)` serves "my accounts" in list order (and the foreign
    key); `(name, id)` serves the admin's list of all accounts in the same order. The
    `q` substring search runs over those rows: a user's accounts are few, and the
    admin-wide search is rare enough not to warrant a trigram index (and `pg_trgm`).
    """

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_owner_id_name", "owner_id", "name", "id"),
        Index("ix_accounts_name", "name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
