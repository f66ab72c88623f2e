"""SQL of the `files` and `file_contents` tables, through the session it is given
(shaped as `accounts/`)."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.files.models import FileContent, StoredFile
from backoffice.pagination import ListQuery, SortOrder
from backoffice.sql import columns_of, fetch_page, insert_row, ordered, typed


class FileRow(NamedTuple):
    """A file's metadata, never its bytes: `FileRead`'s fields and the owner, who decides
    who may read it."""

    id: int
    owner_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


META_COLUMNS = columns_of(StoredFile, FileRow)


class FileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        owner_id: int,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        data: bytes | bytearray,
    ) -> FileRow:
        """The metadata row, then the bytes' row (files are immutable: never updated)."""
        values = {
            "owner_id": owner_id,
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
        }
        stored = await insert_row(self.session, StoredFile, FileRow, values)
        await self.session.execute(insert(FileContent).values(file_id=stored.id, data=data))
        return stored

    async def meta(self, file_id: int) -> FileRow | None:
        """One file's metadata row (with `owner_id`), or None."""
        query = select(*META_COLUMNS).where(StoredFile.id == file_id)
        return typed(FileRow, (await self.session.execute(query)).one_or_none())

    async def data(self, file_id: int) -> bytes | None:
        stored: bytes | None = await self.session.scalar(
            select(FileContent.data).where(FileContent.file_id == file_id)
        )
        return stored

    async def list_owned(self, owner_id: int, query: ListQuery) -> tuple[list[FileRow], int]:
        """Newest first."""
        stmt = ordered(select(*META_COLUMNS), StoredFile.id, SortOrder.DESC)
        stmt = stmt.where(StoredFile.owner_id == owner_id)
        return await fetch_page(self.session, stmt, query.page, FileRow)

    async def is_owned_by(self, file_id: int, owner_id: int) -> bool:
        found = await self.session.scalar(
            select(exists().where(StoredFile.id == file_id, StoredFile.owner_id == owner_id))
        )
        return bool(found)

    async def delete(self, file_id: int) -> None:
        """The content row goes with it (ON DELETE CASCADE)."""
        await self.session.execute(delete(StoredFile).where(StoredFile.id == file_id))
