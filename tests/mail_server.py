"""A real SMTP server for the suite (aiosmtpd, in a thread of its own), and the
`mailbox` a test reads the mails it received from.

The test app sends through it (`EMAIL_BACKEND=smtp`, `SMTP_TLS=none`); a test can stop
it (the server is down: connections are refused), start it again on the same port, or
have it refuse recipients with a reply of its choice (`550 ...`, `451 ...`).
"""

import asyncio
import re
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


@dataclass(frozen=True)
class ReceivedMail:
    to: str
    subject: str
    text: str
    html: str | None
    message: EmailMessage

    @property
    def link(self) -> str | None:
        """The first URL of the text part (a web page's or an app's deep link)."""
        found = LINK.search(self.text)
        return found.group() if found else None

    @classmethod
    def parse(cls, to: str, content: bytes) -> "ReceivedMail":
        message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(content))
        text_part = message.get_body(("plain",))
        html_part = message.get_body(("html",))
        return cls(
            to=to,
            subject=str(message["Subject"]),
            text=text_part.get_content() if text_part is not None else "",
            html=html_part.get_content() if html_part is not None else None,
            message=message,
        )


class Recorder:
    """The aiosmtpd handler: keeps every mail it accepts, one `ReceivedMail` a recipient."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        self.refuse_recipients_with: str | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse_recipients_with is not None:
            return self.refuse_recipients_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        for to in envelope.rcpt_tos:
            self.received.append(ReceivedMail.parse(to, envelope.original_content))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.recorder = Recorder()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen on the same port again (a stopped aiosmtpd controller cannot restart)."""
        if self._controller is None:
            controller = Controller(self.recorder, hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class Mailbox:
    """What the suite's SMTP server received since the test began."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    @property
    def messages(self) -> list[ReceivedMail]:
        return list(self.server.recorder.received)

    async def wait_for(
        self,
        to: str,
        *,
        subject_contains: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (a polling bound, as the tests call it)
    ) -> ReceivedMail:
        """The first mail to `to` (whose subject contains `subject_contains`), once it
        arrived; an AssertionError naming what did arrive after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for mail in self.messages:
                if mail.to == to and (subject_contains is None or subject_contains in mail.subject):
                    return mail
            if time.monotonic() > deadline:
                arrived = [(mail.to, mail.subject) for mail in self.messages]
                raise AssertionError(f"no mail to {to!r} ({subject_contains!r}); got {arrived}")
            await asyncio.sleep(0.02)

    @staticmethod
    def token_of(mail: ReceivedMail) -> str:
        """The `token` query value of the mail's link."""
        assert mail.link is not None, mail.text
        return parse_qs(urlsplit(mail.link).query)["token"][0]
