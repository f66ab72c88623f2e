"""FastAPI dependencies of the files module."""

from typing import Annotated

from fastapi import Depends, Request

from backoffice.auth.dependencies import CurrentUser
from backoffice.db import SessionDep, on_request_session
from backoffice.files.service import FileReads, FileService
from backoffice.files.upload import Upload, read_upload
from backoffice.notifications.dependencies import OutboxDep
from backoffice.settings import SettingsDep


async def get_file_service(
    session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> FileService:
    return FileService(session, settings, outbox)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]


FileReadsDep = Annotated[FileReads, on_request_session(FileReads)]


async def streamed_upload(
    request: Request, settings: SettingsDep, files: FileServiceDep, _: CurrentUser
) -> Upload:
    """The upload, read only once the caller is known (401 before any byte is read).

    The connection the sign-in check used goes back to the pool first, so a slow
    client streaming 10 MiB never keeps one; the service takes one again to store.
    """
    await files.release_connection()
    return await read_upload(request, settings.max_upload_bytes)


UploadDep = Annotated[Upload, Depends(streamed_upload)]
