"""Reading one uploaded file from a `multipart/form-data` request, streamed.

FastAPI's `UploadFile` parameter would have Starlette spool the whole part (to memory,
then disk) before the handler runs, with no limit of its own. Instead the request body
is fed chunk by chunk to python-multipart's streaming parser; the file part's bytes
are counted and hashed (SHA-256) as they arrive and kept in one buffer that never
grows past `MAX_UPLOAD_BYTES`: the byte that passes the limit raises 413 at once,
before anything is written to the database. (The body-size middleware still stops
the whole request at the limit plus 64 KiB of multipart framing.)

The form has exactly one part, `file`; any other part is 422, as unknown JSON fields are.
"""

import hashlib
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from backoffice.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType

FIELD_NAME = "file"


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"
    message = "File too large"


class MultipartRequired(UnsupportedMediaType):
    code = "multipart_required"
    message = "Send the file as multipart/form-data in a field named 'file'"


class MalformedMultipart(BadRequest):
    code = "malformed_multipart"
    message = "Malformed multipart body"


@dataclass(slots=True)
class Upload:
    """The file as received: the client's filename and type are claims, not facts."""

    filename: str | None
    declared_type: str | None
    data: bytearray
    sha256: str
    size: int


@dataclass(slots=True)
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    is_file: bool = False
    filename: str | None = None


class _UploadReader:
    """python-multipart callbacks (synchronous, called from `parser.write`)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.data = bytearray()
        self.digest = hashlib.sha256()
        self.found: Upload | None = None

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.header_name.lower()] = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name != FIELD_NAME:
            raise InvalidInput(["body", name], "Extra inputs are not permitted", "extra_forbidden")
        if self.found is not None:
            raise InvalidInput(["body", FIELD_NAME], "Send one file per request")
        self.part.is_file = True
        raw_filename = options.get(b"filename")
        if raw_filename is not None:
            self.part.filename = raw_filename.decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if len(self.data) + (end - start) > self.max_bytes:
            raise FileTooLarge(
                f"File larger than {self.max_bytes} bytes", headers={"Connection": "close"}
            )
        chunk = memoryview(data)[start:end]
        self.data += chunk
        self.digest.update(chunk)

    def on_part_end(self) -> None:
        content_type = self.part.headers.get(b"content-type")
        self.found = Upload(
            filename=self.part.filename,
            declared_type=None if content_type is None else content_type.decode("latin-1"),
            data=self.data,
            sha256=self.digest.hexdigest(),
            size=len(self.data),
        )


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The single `file` part of the request, at most `max_bytes` long."""
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise MultipartRequired()
    boundary = params.get(b"boundary")
    if not boundary:
        raise MalformedMultipart("Missing multipart boundary")
    reader = _UploadReader(max_bytes)
    try:
        # The constructor validates the boundary (at most 256 characters): inside the
        # `try`, so a client's bad boundary is a 400 like any other framing error.
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": reader.on_part_begin,
                "on_header_field": reader.on_header_field,
                "on_header_value": reader.on_header_value,
                "on_header_end": reader.on_header_end,
                "on_headers_finished": reader.on_headers_finished,
                "on_part_data": reader.on_part_data,
                "on_part_end": reader.on_part_end,
            },
        )
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise MalformedMultipart() from exc
    except ClientDisconnect as exc:
        raise MalformedMultipart("Client disconnected during the upload") from exc
    if reader.found is None:
        raise InvalidInput(["body", FIELD_NAME], "Field required", "missing")
    return reader.found
