"""Tables of the files module: metadata in `files`, the bytes in `file_contents`.

The bytes live in their own table so that listing and reading metadata never touch
(or drag through the buffer cache) the content; one row per file, `bytea`, stored
uncompressed (`STORAGE EXTERNAL`, set by the migration: uploads are mostly images and
PDFs that are compressed already).
"""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models import Base, IdMixin


class StoredFile(IdMixin, Base):
    """An uploaded file's metadata; immutable once written (hence no `updated_at`)."""

    __tablename__ = "files"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012
    __table_args__ = (Index("ix_files_owner_id_id", "owner_id", "id"),)

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class FileContent(Base):
    """The bytes of one file; removed with its metadata row."""

    __tablename__ = "file_contents"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
