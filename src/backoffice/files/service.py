"""Rules about files: what may be stored, who may read it, and the transaction.

Access: a file is private to its owner; an admin may read and delete any file;
everyone else gets 404 (never a hint that it exists). An item's image is shown to
every signed-in user through `GET /items/{id}/image`: the items module decides that
the reader may see the item and then asks `FileReads.image_meta`/`data_of` here, so
this module never has to know about items.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.errors import InvalidInput, NotFound, UnsupportedMediaType
from backoffice.files.naming import safe_filename
from backoffice.files.repository import FileRepository, FileRow
from backoffice.files.sniffing import sniff_content_type
from backoffice.files.upload import Upload
from backoffice.notifications.outbox import Outbox
from backoffice.pagination import ListQuery
from backoffice.principal import Principal
from backoffice.settings import Settings


class FileNotFound(NotFound):
    code = "file_not_found"
    message = "File not found"


class FileTypeNotAllowed(UnsupportedMediaType):
    code = "file_type_not_allowed"
    message = "File type not allowed"


class FileReads:
    """The files' reads, in the session it is given; builds no outbox. The items module
    reads images and checks an image's owner through it too."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = FileRepository(session)

    async def list(self, owner: Principal, query: ListQuery) -> tuple[list[FileRow], int]:
        return await self.repo.list_owned(owner.id, query)

    async def get(self, caller: Principal, file_id: int) -> FileRow:
        """The metadata of a file the caller may read (its owner, or an admin)."""
        meta = await self.repo.meta(file_id)
        if meta is None or not (caller.is_admin or meta.owner_id == caller.id):
            raise FileNotFound()
        return meta

    async def data_of(self, meta: FileRow) -> bytes:
        """The bytes of a file whose metadata `get` or `image_meta` already granted."""
        data = await self.repo.data(meta.id)
        if data is None:
            raise FileNotFound()
        return data

    async def is_owned_by(self, file_id: int, owner_id: int) -> bool:
        """For the items service: may `owner_id` use this file as an item's image?"""
        return await self.repo.is_owned_by(file_id, owner_id)

    async def image_meta(self, file_id: int) -> FileRow:
        """For the items module, which has decided the reader may see the item."""
        meta = await self.repo.meta(file_id)
        if meta is None:
            raise FileNotFound()
        return meta


class FileService:
    def __init__(self, session: AsyncSession, settings: Settings, outbox: Outbox) -> None:
        self.session = session
        self.settings = settings
        self.outbox = outbox
        self.repo = FileRepository(session)

    async def release_connection(self) -> None:
        """End the read transaction so far and hand its connection back to the pool.

        Called before an upload's body is read: the request has only read (the caller's
        sign-in check), so nothing is lost, and a slow client streaming a large file must
        not hold a pooled connection, idle in a transaction, for the whole upload. The
        session takes a connection again when `create` stores the file.
        """
        await self.session.rollback()

    async def create(self, owner: Principal, upload: Upload) -> FileRow:
        """Store an upload whose bytes are one of the allowed types."""
        if upload.size == 0:
            raise InvalidInput(["body", "file"], "The file is empty")
        filename = safe_filename(upload.filename)
        content_type = sniff_content_type(upload.data, filename, upload.declared_type)
        if content_type is None or content_type not in self.settings.allowed_upload_types:
            allowed = ", ".join(self.settings.allowed_upload_types)
            raise FileTypeNotAllowed(f"File type not allowed; accepted: {allowed}")
        stored = await self.repo.add(
            owner_id=owner.id,
            filename=filename,
            content_type=content_type,
            size=upload.size,
            sha256=upload.sha256,
            data=upload.data,
        )
        await self.outbox.notify(
            owner.id,
            "file_uploaded",
            f"File '{stored.filename}' was uploaded",
            data={"file_id": stored.id},
        )
        await self.session.commit()
        return stored

    async def delete(self, caller: Principal, file_id: int) -> None:
        """An item that shows this file as its image keeps no image (ON DELETE SET NULL)."""
        await FileReads(self.session).get(caller, file_id)
        await self.repo.delete(file_id)
        await self.session.commit()
