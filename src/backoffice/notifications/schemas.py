"""Request and response models of notifications."""

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field

from backoffice.pagination import ListQuery
from backoffice.schemas import BodyId, Example, ReadModel, RequestModel


class NotificationCreate(RequestModel):
    """`user_id` omitted means the caller; only an admin may name another user."""

    message: Annotated[str, Field(min_length=1, max_length=1000)]
    user_id: BodyId | None = None

    example: ClassVar[Example] = {"message": "Your order #1042 has shipped", "user_id": 42}


class NotificationRead(ReadModel):
    id: int
    kind: str
    message: str
    data: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None

    example: ClassVar[Example] = {
        "id": 81,
        "kind": "message",
        "message": "Your order #1042 has shipped",
        "data": {"from_user_id": 1},
        "created_at": "2025-03-14T09:26:53Z",
        "delivered_at": "2025-03-14T09:26:54Z",
        "read_at": "2025-03-14T10:02:47Z",
    }


class NotificationQuery(ListQuery):
    unread: Annotated[
        bool | None, Field(description="true: only unread; false: only read; omitted: all")
    ] = None
