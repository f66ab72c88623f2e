"""The `mails` table: the mail outbox, a row per mail, sent after the response.

A row is written in the transaction that makes its reason (a reset token, a change of
address), so a rolled-back change sends nothing. It stays until it is sent (`sent_at`)
or given up (`failed_at`); either way its bodies are then erased, since they hold a
link that is a credential. `attempts` and `next_attempt_at` drive the retries.
"""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin


class Mail(IdMixin, Base):
    """Indexes: the sweep's scan of due rows (partial: a row leaves it once sent or
    given up, so it stays small), and the user's rows (a deletion cascades to them)."""

    __tablename__ = "mails"
    __table_args__ = (
        Index(
            "ix_mails_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_mails_user_id", "user_id"),
    )

    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
