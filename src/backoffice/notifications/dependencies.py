"""FastAPI dependencies of the notifications module: the outbox other modules use."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Query, Request

from backoffice.db import SessionDep, on_request_session, sessionmaker_of
from backoffice.errors import keep_background_on_error
from backoffice.notifications.delivery import NotificationDelivery
from backoffice.notifications.outbox import Outbox
from backoffice.notifications.schemas import NotificationQuery
from backoffice.notifications.service import NotificationReads, NotificationService


async def get_outbox(request: Request, session: SessionDep, background: BackgroundTasks) -> Outbox:
    """An outbox in the request's session; its rows are delivered after the response.

    The delivery task is scheduled at the first notification only, so requests that
    notify nobody cost nothing. It runs after the response was sent, in a session of
    its own; by then the service has committed (or rolled back, and nothing is found).
    """
    delivery = NotificationDelivery(sessionmaker_of(request))

    def schedule(outbox: Outbox) -> None:
        background.add_task(delivery.deliver, outbox.pending)
        keep_background_on_error(request, background)

    return Outbox(session, on_first_notification=schedule)


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


async def get_notification_service(session: SessionDep, outbox: OutboxDep) -> NotificationService:
    return NotificationService(session, outbox)


NotificationServiceDep = Annotated[NotificationService, Depends(get_notification_service)]


NotificationReadsDep = Annotated[NotificationReads, on_request_session(NotificationReads)]
NotificationQueryDep = Annotated[NotificationQuery, Query()]
