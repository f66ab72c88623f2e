"""Client-supplied filenames reduced to something safe to store and to send back."""

import posixpath
import unicodedata
from urllib.parse import quote

MAX_FILENAME_CHARS = 255
FALLBACK_FILENAME = "upload"


def safe_filename(raw: str | None) -> str:
    """The base name only: no directories (either slash), no control characters.

    `../../etc/passwd.png` -> `passwd.png`; `C:\\temp\\a.pdf` -> `a.pdf`. Control,
    format and line-separator characters go, other spaces become plain ones. Leading dots
    and surrounding spaces go (no hidden or `..` names); the result is NFC-normalised
    and cut to 255 characters, keeping the extension. Empty results become `upload`.
    """
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/")
    name = posixpath.basename(name)
    name = "".join(_printable(ch) for ch in name)
    name = name.lstrip(". ").rstrip(" ")
    if not name:
        return FALLBACK_FILENAME
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name


def _printable(ch: str) -> str:
    category = unicodedata.category(ch)
    if category[0] == "C" or category in ("Zl", "Zp"):
        return ""
    return " " if category == "Zs" else ch


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name per RFC 6266 / 5987."""
    ascii_name = "".join(
        ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;' else "_" for ch in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
