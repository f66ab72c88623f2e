"""FastAPI dependencies of the mail module: the outbox other modules use."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from backoffice.db import SessionDep
from backoffice.mail.delivery import MailDelivery
from backoffice.mail.outbox import MailOutbox
from backoffice.outbox import after_response


async def get_mail_outbox(
    request: Request, session: SessionDep, background: BackgroundTasks
) -> MailOutbox:
    """A mail outbox in the request's session; its mails are sent after the response
    by the app's `MailDelivery` (built in the lifespan)."""
    delivery: MailDelivery = request.app.state.mail_delivery
    schedule = after_response(request, background, delivery.deliver)
    return MailOutbox(session, request.app.state.settings, on_first_mail=schedule)


MailOutboxDep = Annotated[MailOutbox, Depends(get_mail_outbox)]
