"""The `employees` table."""

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin, TimestampMixin


class Employee(IdMixin, TimestampMixin, Base):
    """One person of one account; gone with its account (`ON DELETE CASCADE`).

    Emails are stored lower-cased, so the unique `(account_id, email)` constraint is
    case-insensitive; the same address may appear in two accounts. That constraint's
    index also serves the foreign key and every "employees of this account" scan.
    Every list runs within one account, so each sort and filter has an index that
    leads with `account_id`; the `q` substring search scans that account's rows.
    """

    __tablename__ = "employees"
    __table_args__ = (
        UniqueConstraint("account_id", "email"),
        Index("ix_employees_account_id_full_name", "account_id", "full_name", "id"),
        Index("ix_employees_account_id_hired_on", "account_id", "hired_on", "id"),
        Index("ix_employees_account_id_created_at", "account_id", "created_at", "id"),
        Index("ix_employees_account_id_department", "account_id", "department"),
        Index("ix_employees_account_id_is_active", "account_id", "is_active"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(100))
    hired_on: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(server_default=true())
