"""FastAPI dependencies of the notifications module: the outbox other modules use."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Query, Request

from backoffice.db import SessionDep, on_request_session, sessionmaker_of
from backoffice.notifications.delivery import NotificationDelivery
from backoffice.notifications.outbox import Outbox
from backoffice.notifications.schemas import NotificationQuery
from backoffice.notifications.service import NotificationReads, NotificationService
from backoffice.outbox import after_response


async def get_outbox(request: Request, session: SessionDep, background: BackgroundTasks) -> Outbox:
    """An outbox in the request's session; its rows are delivered after the response."""
    deliver = NotificationDelivery(sessionmaker_of(request)).deliver
    return Outbox(session, on_first_notification=after_response(request, background, deliver))


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


async def get_notification_service(session: SessionDep, outbox: OutboxDep) -> NotificationService:
    return NotificationService(session, outbox)


NotificationServiceDep = Annotated[NotificationService, Depends(get_notification_service)]


NotificationReadsDep = Annotated[NotificationReads, on_request_session(NotificationReads)]
NotificationQueryDep = Annotated[NotificationQuery, Query()]
