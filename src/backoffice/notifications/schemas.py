"""Request and response models of notifications."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from backoffice.pagination import ListQuery
from backoffice.schemas import BodyId, ReadModel, RequestModel


class NotificationCreate(RequestModel):
    """`user_id` omitted means the caller; only an admin may name another user."""

    message: Annotated[str, Field(min_length=1, max_length=1000)]
    user_id: BodyId | None = None


class NotificationRead(ReadModel):
    id: int
    kind: str
    message: str
    data: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None


class NotificationQuery(ListQuery):
    unread: Annotated[
        bool | None, Field(description="true: only unread; false: only read; omitted: all")
    ] = None
