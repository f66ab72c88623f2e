"""Sample uploads and the raw upload request, for tests that look at the response itself."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser

# A real 1x1 transparent PNG.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
)
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x01\x02\x03"


async def upload(
    client: httpx.AsyncClient,
    owner: SignedInUser,
    content: bytes = PNG_BYTES,
    filename: str = "pixel.png",
    content_type: str = "image/png",
) -> httpx.Response:
    return await client.post(
        "/files", headers=owner.headers, files={"file": (filename, content, content_type)}
    )


async def count_rows(engine: AsyncEngine) -> tuple[int, int]:
    """How many rows `files` and `file_contents` hold."""
    async with engine.connect() as conn:
        files = await conn.scalar(text("SELECT count(*) FROM files"))
        contents = await conn.scalar(text("SELECT count(*) FROM file_contents"))
    return int(files or 0), int(contents or 0)
