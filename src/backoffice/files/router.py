"""HTTP of the files module."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response, status

from backoffice.auth.dependencies import CurrentUser
from backoffice.errors import error_responses as errors
from backoffice.files import responses
from backoffice.files.dependencies import FileReadsDep, FileServiceDep, UploadDep
from backoffice.files.repository import FileRow
from backoffice.files.schemas import FileRead
from backoffice.files.service import FileNotFound, FileTypeNotAllowed
from backoffice.files.upload import FileTooLarge, MalformedMultipart, MultipartRequired
from backoffice.idempotency.route import IdempotentRoute
from backoffice.pagination import ListQueryDep, Page
from backoffice.schemas import DbId

router = APIRouter(prefix="/files", tags=["files"], route_class=IdempotentRoute)

FileId = Annotated[DbId, Path(description="File id")]
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                    "additionalProperties": False,
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FileRead,
    operation_id="files-create",
    summary="Upload a file (multipart field `file`); its type is sniffed from the bytes",
    responses=errors(
        MalformedMultipart, 401, 413, FileTooLarge, FileTypeNotAllowed, MultipartRequired, 422
    ),
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(user: CurrentUser, upload: UploadDep, files: FileServiceDep) -> FileRow:
    return await files.create(user, upload)


@router.get(
    "",
    response_model=Page[FileRead],
    operation_id="files-list",
    summary="The caller's files, newest first",
    responses=errors(401, 422),
)
async def list_files(user: CurrentUser, files: FileReadsDep, query: ListQueryDep) -> Page[FileRead]:
    rows, total = await files.list(user, query)
    return Page[FileRead].of(rows, total, query.page)


@router.get(
    "/{file_id}",
    response_model=FileRead,
    operation_id="files-get",
    summary="A file's metadata (owner or admin)",
    responses=errors(401, FileNotFound, 422),
)
async def get_file(file_id: FileId, user: CurrentUser, files: FileReadsDep) -> FileRow:
    return await files.get(user, file_id)


@router.get(
    "/{file_id}/content",
    response_class=Response,
    operation_id="files-content",
    summary="A file's bytes, as an attachment; `If-None-Match` with its ETag gives 304",
    responses={**responses.DOWNLOAD_RESPONSES, **errors(401, FileNotFound, 422)},
)
async def download_file(
    file_id: FileId,
    user: CurrentUser,
    files: FileReadsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    meta = await files.get(user, file_id)
    return await responses.conditional_download(meta, if_none_match, lambda: files.data_of(meta))


@router.delete(
    "/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="files-delete",
    summary="Delete a file; an item showing it as its image is left without one",
    responses=errors(401, FileNotFound, 422),
)
async def delete_file(file_id: FileId, user: CurrentUser, files: FileServiceDep) -> Response:
    await files.delete(user, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
