"""SQL of the `files` and `file_contents` tables, through the session it is given."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.files.models import FileContent, StoredFile
from backoffice.pagination import PageParams
from backoffice.sql import fetch_page

# What reads return: the metadata, never the bytes.
META_COLUMNS = (
    StoredFile.id,
    StoredFile.owner_id,
    StoredFile.filename,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    StoredFile.created_at,
)


class FileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, data: bytes | bytearray, **values: Any) -> StoredFile:
        stored = StoredFile(**values)
        self.session.add(stored)
        await self.session.flush()
        self.session.add(FileContent(file_id=stored.id, data=data))
        await self.session.flush()
        return stored

    async def meta(self, file_id: int) -> Any | None:
        """One file's metadata row (with `owner_id`), or None."""
        return (
            await self.session.execute(select(*META_COLUMNS).where(StoredFile.id == file_id))
        ).one_or_none()

    async def data(self, file_id: int) -> bytes | None:
        stored: bytes | None = await self.session.scalar(
            select(FileContent.data).where(FileContent.file_id == file_id)
        )
        return stored

    async def list_owned(self, owner_id: int, page: PageParams) -> tuple[Sequence[Any], int]:
        """Newest first."""
        query = (
            select(*META_COLUMNS)
            .where(StoredFile.owner_id == owner_id)
            .order_by(StoredFile.id.desc())
        )
        return await fetch_page(self.session, query, page)

    async def is_owned_by(self, file_id: int, owner_id: int) -> bool:
        found = await self.session.scalar(
            select(exists().where(StoredFile.id == file_id, StoredFile.owner_id == owner_id))
        )
        return bool(found)

    async def delete(self, file_id: int) -> None:
        """The content row goes with it (ON DELETE CASCADE)."""
        await self.session.execute(delete(StoredFile).where(StoredFile.id == file_id))
