"""Response models of the files module (uploads arrive as multipart, not as a model)."""

from datetime import datetime
from typing import ClassVar

from backoffice.schemas import Example, ReadModel


class FileRead(ReadModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime

    example: ClassVar[Example] = {
        "id": 5,
        "filename": "espresso-cup.jpg",
        "content_type": "image/jpeg",
        "size": 48213,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "created_at": "2025-03-14T09:26:53Z",
    }
