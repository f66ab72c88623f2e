"""Response models of the files module (uploads arrive as multipart, not as a model)."""

from datetime import datetime

from backoffice.schemas import ReadModel


class FileRead(ReadModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
