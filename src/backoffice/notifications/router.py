"""HTTP of the notifications module."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from backoffice.auth.dependencies import CurrentUser
from backoffice.errors import error_responses as errors
from backoffice.idempotency.route import IdempotentRoute
from backoffice.notifications.dependencies import (
    NotificationQueryDep,
    NotificationReadsDep,
    NotificationServiceDep,
)
from backoffice.notifications.repository import NotificationRow
from backoffice.notifications.schemas import NotificationCreate, NotificationRead
from backoffice.notifications.service import CannotNotifyOthers, NotificationNotFound
from backoffice.pagination import Page
from backoffice.schemas import DbId
from backoffice.users.service import UserNotFound

router = APIRouter(prefix="/notifications", tags=["notifications"], route_class=IdempotentRoute)

NotificationId = Annotated[DbId, Path(description="Notification id")]


@router.get(
    "",
    response_model=Page[NotificationRead],
    operation_id="notifications-list",
    summary="The caller's notifications, newest first",
    responses=errors(401, 422),
)
async def list_notifications(
    user: CurrentUser,
    notifications: NotificationReadsDep,
    query: NotificationQueryDep,
) -> Page[NotificationRead]:
    rows, total = await notifications.list(user, query)
    return Page[NotificationRead].of(rows, total, query.page)


@router.post(
    "/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="notifications-read",
    summary="Mark one of the caller's notifications read (idempotent)",
    responses=errors(401, NotificationNotFound, 422),
)
async def mark_read(
    notification_id: NotificationId, user: CurrentUser, notifications: NotificationServiceDep
) -> Response:
    await notifications.mark_read(user, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=NotificationRead,
    operation_id="notifications-send",
    summary="Send a message to oneself, or (admin) to any user; delivered after the response",
    responses=errors(401, CannotNotifyOthers, UserNotFound, 422),
)
async def send_notification(
    body: NotificationCreate, user: CurrentUser, notifications: NotificationServiceDep
) -> NotificationRow:
    return await notifications.send(user, body)
