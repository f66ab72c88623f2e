"""The HTTP shape of a download, shared by `/files/{id}/content` and `/items/{id}/image`.

`ETag` is the quoted SHA-256 of the bytes (strong: equal tags mean equal bytes), so a
client that sends it back in `If-None-Match` gets 304 without the body, and the bytes
are not even read from the database. `Cache-Control: private, no-cache`: files are
private, so no shared cache may keep them, and the client revalidates each time.
`X-Content-Type-Options: nosniff` and `Content-Disposition: attachment` keep a
browser from rendering an upload as a page of this origin.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response, status

from backoffice.files.naming import content_disposition
from backoffice.files.repository import FileRow
from backoffice.files.sniffing import SNIFFED_TYPES

CACHE_CONTROL = "private, no-cache"
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, with its sniffed type",
        "content": {
            content_type: {"schema": {"type": "string", "format": "binary"}}
            for content_type in SNIFFED_TYPES
        },
    },
    304: {"description": "Not modified: the `If-None-Match` tag is current"},
}


def etag_of(sha256: str) -> str:
    return f'"{sha256}"'


def etag_matches(if_none_match: str | None, sha256: str) -> bool:
    """RFC 9110 weak comparison over a list of tags, `*` included."""
    if not if_none_match:
        return False
    tag = etag_of(sha256)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def not_modified(meta: FileRow) -> Response:
    return Response(
        status_code=status.HTTP_304_NOT_MODIFIED,
        headers={"ETag": etag_of(meta.sha256), "Cache-Control": CACHE_CONTROL},
    )


def download(meta: FileRow, data: bytes) -> Response:
    return Response(
        content=data,
        media_type=meta.content_type,
        headers={
            "ETag": etag_of(meta.sha256),
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": content_disposition(meta.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


async def conditional_download(
    meta: FileRow, if_none_match: str | None, read: Callable[[], Awaitable[bytes]]
) -> Response:
    """304 when the client's tag is current (the bytes are never read), else the bytes."""
    if etag_matches(if_none_match, meta.sha256):
        return not_modified(meta)
    return download(meta, await read())
