"""The account lifecycle's mailed links, read out of the test SMTP server's mailbox.

Every helper goes the way a user does: ask through HTTP, read the link in the mail the
real SMTP server received, and hand its token back to be followed through HTTP.
"""

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.mail_server import Mailbox, ReceivedMail

RESET_SUBJECT = "Reset your password"
CHANGED_SUBJECT = "Your password was changed"
VERIFY_SUBJECT = "Confirm your email address"
NOTICE_SUBJECT = "A change of your email address was requested"

NEW_PASSWORD = "a brand new password"


async def mailed_token(mailbox: Mailbox, to: str, subject: str) -> str:
    """The token of the link in the first mail to `to` whose subject has `subject`."""
    mail = await mailbox.wait_for(to, subject_contains=subject)
    token: str = mailbox.token_of(mail)
    return token


async def reset_token(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    response = await client.post("/auth/password/forgot", json={"email": email})
    assert response.status_code == 202, response.text
    return await mailed_token(mailbox, email, RESET_SUBJECT)


async def reset(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/password/reset", json={"token": token, "new_password": password}
    )


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/email/verify", json={"token": token})


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def expire_links(engine: AsyncEngine) -> None:
    """Every link past its lifetime, as the clock would leave it."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE one_time_tokens SET expires_at = now() - interval '1 second'")
        )


def mails_to(mailbox: Mailbox, to: str, subject: str) -> list[ReceivedMail]:
    return [m for m in mailbox.messages if m.to == to and m.subject.startswith(subject)]


async def mails_written_to(engine: AsyncEngine, email: str) -> int:
    """Rows in the mails outbox for `email` that were sent or will be, whatever the SMTP
    server has received so far (not the rows written given up, never to be sent)."""
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM mails WHERE to_address = :email AND failed_at IS NULL")
        return int(await conn.scalar(query, {"email": email}) or 0)
