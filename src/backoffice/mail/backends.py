"""How a mail leaves: `EMAIL_BACKEND=console` logs it, `smtp` sends it.

The SMTP backend opens one connection a mail (mails are few: a reset, a confirmation)
with `aiosmtplib`, and builds the message with the standard library: a text part and
its HTML alternative, and a Message-ID that names the row (`mail<id>`) for whoever
follows a mail through the logs of a relay.
"""

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from backoffice.mail.repository import OutgoingMail
from backoffice.settings import Settings

logger = logging.getLogger("backoffice.mail")


class PermanentFailure(Exception):
    """The server refused the mail for good (a 5xx for its recipient or its content):
    sending it again would be refused again, so it is given up at once."""


class MailBackend(Protocol):
    async def send(self, mail: OutgoingMail) -> None:
        """Send or raise: `PermanentFailure` to give up, anything else to retry later."""


class ConsoleBackend:
    """Development: the whole mail, link included, as one structured log line."""

    async def send(self, mail: OutgoingMail) -> None:
        logger.info(
            "mail to %s (console backend, not sent): %s | %s",
            mail.to_address,
            mail.subject,
            " ".join(mail.body_text.split()),
            extra={
                "event": "mail_logged",
                "mail_id": mail.id,
                "to": mail.to_address,
                "subject": mail.subject,
                "text": mail.body_text,
                "html": mail.body_html,
            },
        )


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = formatdate()
    domain = parseaddr(sender)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(idstring=f"mail{mail.id}", domain=domain or None)
    message.set_content(mail.body_text)
    if mail.body_html is not None:
        message.add_alternative(mail.body_html, subtype="html")
    return message


class SmtpBackend:
    def __init__(self, settings: Settings) -> None:
        self.sender = settings.email_from
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username or None
        self.password = settings.smtp_password.get_secret_value() or None
        self.use_tls = settings.smtp_tls == "tls"
        self.start_tls = settings.smtp_tls == "starttls"
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, mail: OutgoingMail) -> None:
        try:
            await aiosmtplib.send(
                build_message(mail, self.sender),
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(refused.code >= 500 for refused in exc.recipients):
                raise PermanentFailure(str(exc)) from exc
            raise
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            if exc.code >= 500:
                raise PermanentFailure(str(exc)) from exc
            raise


def backend_of(settings: Settings) -> MailBackend:
    if settings.email_backend == "smtp":
        return SmtpBackend(settings)
    return ConsoleBackend()
