import hashlib

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.settings import Settings
from tests.conftest import SignedInUser
from tests.files.samples import ELF_BYTES, PDF_BYTES, PNG_BYTES, count_rows, upload


async def test_upload_returns_the_metadata(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await upload(client, user)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "filename", "content_type", "size", "sha256", "created_at"}
    assert body["filename"] == "pixel.png"
    assert body["content_type"] == "image/png"
    assert body["size"] == len(PNG_BYTES)
    assert body["sha256"] == hashlib.sha256(PNG_BYTES).hexdigest()
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT data FROM file_contents WHERE file_id = :id"), {"id": body["id"]}
        )
        owner = await conn.scalar(
            text("SELECT owner_id FROM files WHERE id = :id"), {"id": body["id"]}
        )
    assert stored == PNG_BYTES
    assert owner == user.id


@pytest.mark.parametrize(
    ("content", "filename", "declared", "expected"),
    [
        (PNG_BYTES, "a.png", "image/png", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00rest", "photo.jpg", "image/jpeg", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "anim.gif", "image/gif", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 rest", "pic.webp", "image/webp", "image/webp"),
        (PDF_BYTES, "doc.pdf", "application/pdf", "application/pdf"),
        (PNG_BYTES, "no-extension", "application/octet-stream", "image/png"),
        (PDF_BYTES, "lies.png", "image/png", "application/pdf"),
        ("héllo, wörld\n".encode(), "notes.txt", "text/plain", "text/plain"),
        (b"a,b\n1,2\n", "table.csv", "application/octet-stream", "text/csv"),
        (b"a,b\n1,2\n", "table", "text/csv", "text/csv"),
        (b"a,b\n1,2\n", "table.txt", "text/plain", "text/plain"),
        (b"\xef\xbb\xbfwith a BOM\r\n", "bom.txt", "text/plain", "text/plain"),
    ],
)
async def test_type_is_sniffed_from_the_bytes(
    client: httpx.AsyncClient,
    user: SignedInUser,
    content: bytes,
    filename: str,
    declared: str,
    expected: str,
) -> None:
    response = await upload(client, user, content, filename, declared)
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == expected


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (ELF_BYTES, "x.png"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "setup.png"),
        (b"PK\x03\x04\x14\x00\x00\x00", "archive.csv"),
        (b"\xc3\x28 not utf-8", "bad.txt"),
        (b"text with a \x00 NUL", "nul.txt"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>\x1b</svg>", "image.svg"),
    ],
)
async def test_disallowed_or_unknown_types_are_415_and_not_stored(
    client: httpx.AsyncClient,
    user: SignedInUser,
    engine: AsyncEngine,
    content: bytes,
    filename: str,
) -> None:
    response = await upload(client, user, content, filename, "image/png")
    assert response.status_code == 415
    assert response.json()["code"] == "file_type_not_allowed"
    assert await count_rows(engine) == (0, 0)


async def test_a_type_left_out_of_the_allow_list_is_415(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, app: object
) -> None:
    settings_obj = app.state.settings  # type: ignore[attr-defined]
    app.state.settings = settings.model_copy(update={"allowed_upload_types": ["image/png"]})  # type: ignore[attr-defined]
    try:
        response = await upload(client, user, PDF_BYTES, "doc.pdf", "application/pdf")
    finally:
        app.state.settings = settings_obj  # type: ignore[attr-defined]
    assert response.status_code == 415


async def test_a_file_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    content = PNG_BYTES + b"\x00" * (settings.max_upload_bytes - len(PNG_BYTES))
    response = await upload(client, user, content)
    assert response.status_code == 201
    assert response.json()["size"] == settings.max_upload_bytes


async def test_one_byte_over_the_limit_is_413_and_leaves_no_row(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, engine: AsyncEngine
) -> None:
    content = PNG_BYTES + b"\x00" * (settings.max_upload_bytes + 1 - len(PNG_BYTES))
    response = await upload(client, user, content)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert await count_rows(engine) == (0, 0)


async def test_an_oversized_chunked_upload_is_413(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, engine: AsyncEngine
) -> None:
    """No Content-Length: the limit is found while streaming."""
    boundary = "limitboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    async def body():  # type: ignore[no-untyped-def]
        yield head + PNG_BYTES
        chunk = b"\x00" * 65536
        for _ in range(settings.max_upload_bytes // len(chunk) + 2):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/files",
        content=body(),
        headers={**user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert await count_rows(engine) == (0, 0)


async def test_a_streaming_upload_holds_no_connection_idle_in_a_transaction(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    """While the body arrives, the sign-in check's connection is back in the pool."""
    boundary = "slowboundary"
    seen: list[int] = []

    async def idle_in_transaction() -> int:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'backoffice' AND state LIKE 'idle in transaction%'"
                )
            )
        return int(count or 0)

    async def body():  # type: ignore[no-untyped-def]
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"'
            "\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        seen.append(await idle_in_transaction())  # mid-upload, after authentication
        yield PNG_BYTES + f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/files",
        content=body(),
        headers={**user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 201
    assert seen == [0]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\evil.png", "evil.png"),
        ("C:\\Users\\me\\photo.png", "photo.png"),
        ("/absolute/path/x.png", "x.png"),
        ("..", "upload"),
        (".hidden.png", "hidden.png"),
        ("ünïcødé.png", "ünïcødé.png"),
        ("a" * 300 + ".png", "a" * 251 + ".png"),
    ],
)
async def test_filenames_are_reduced_to_a_safe_base_name(
    client: httpx.AsyncClient, user: SignedInUser, raw: str, stored: str
) -> None:
    response = await upload(client, user, PNG_BYTES, raw)
    assert response.status_code == 201
    assert response.json()["filename"] == stored


async def test_control_characters_in_a_raw_filename_are_dropped(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """httpx would percent-encode them; a hand-made body sends them as they are."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="tab\there\x01.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + PNG_BYTES + b"\r\n--b--\r\n"
    )
    response = await client.post(
        "/files",
        content=body,
        headers={**user.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 201
    assert response.json()["filename"] == "tabhere.png"


async def test_an_empty_file_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await upload(client, user, b"", "empty.txt", "text/plain")
    assert response.status_code == 422


async def test_a_json_body_is_415(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post("/files", json={"file": "x"}, headers=user.headers)
    assert response.status_code == 415
    assert response.json()["code"] == "multipart_required"


async def test_a_form_without_the_file_field_is_422(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/files", files={"document": ("a.png", PNG_BYTES, "image/png")}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "document"]


async def test_an_empty_form_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post(
        "/files",
        content=b"--b--\r\n",
        headers={**user.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


async def test_two_files_in_one_request_are_422(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await client.post(
        "/files",
        files=[
            ("file", ("a.png", PNG_BYTES, "image/png")),
            ("file", ("b.png", PNG_BYTES, "image/png")),
        ],
        headers=user.headers,
    )
    assert response.status_code == 422
    assert await count_rows(engine) == (0, 0)


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=b"])
async def test_malformed_multipart_is_400(
    client: httpx.AsyncClient, user: SignedInUser, content_type: str
) -> None:
    response = await client.post(
        "/files",
        content=b"this is not multipart at all",
        headers={**user.headers, "Content-Type": content_type},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_multipart"


async def test_a_boundary_longer_than_the_parser_accepts_is_400_not_500(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    boundary = "b" * 300  # python-multipart refuses boundaries over 256 characters
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = await client.post(
        "/files",
        content=body,
        headers={**user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_multipart"
    assert await count_rows(engine) == (0, 0)


async def test_upload_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/files", files={"file": ("a.png", PNG_BYTES, "image/png")})
    assert response.status_code == 401
