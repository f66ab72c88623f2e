"""What an upload really is, judged from its bytes, never from its name or declared type.

Rules, in order:
1. Magic numbers at the start: PNG, JPEG, GIF (87a/89a), WebP (RIFF....WEBP), PDF.
2. Otherwise text: the whole content decodes as UTF-8 (a BOM allowed) and holds no NUL
   and no other C0 control character than tab, LF, CR and form feed. Text is
   `text/csv` when the filename ends in `.csv` or the client declared `text/csv`
   (CSV has no signature: every CSV file is also plain text), else `text/plain`.
3. Anything else (executables, archives, unknown binaries) is unknown: the caller
   answers 415. The result must also be in `ALLOWED_UPLOAD_TYPES`.
"""

import re

MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
WEBP = "image/webp"
TEXT_TYPES = ("text/plain", "text/csv")
SNIFFED_TYPES = tuple(dict.fromkeys([*(t for _, t in MAGIC_NUMBERS), WEBP, *TEXT_TYPES]))
"""Every type `sniff_content_type` may return: the types a download may be served as."""
UTF8_BOM = b"\xef\xbb\xbf"
# C0 controls other than \t \n \f \r, and DEL: never in a text file worth the name.
BINARY_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff_content_type(
    data: bytes | bytearray, filename: str, declared_type: str | None
) -> str | None:
    """The MIME type of `data`, or None when it is none of the types we know."""
    for magic, content_type in MAGIC_NUMBERS:
        if data.startswith(magic):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if not _is_text(data):
        return None
    declared = (declared_type or "").split(";")[0].strip().lower()
    if filename.lower().endswith(".csv") or declared == "text/csv":
        return "text/csv"
    return "text/plain"


def _is_text(data: bytes | bytearray) -> bool:
    if BINARY_CONTROL.search(data):
        return False
    try:
        data.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
