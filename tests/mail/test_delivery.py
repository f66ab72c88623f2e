"""Mails are written with the change that needs them and sent after the response."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.mail.conftest import stored_mails
from tests.mail_server import Mailbox

RESET_URL = "https://app.example.com/reset?token={token}"


async def test_a_reset_mail_arrives_with_the_link_its_template_makes(
    reset_client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    response = await reset_client.post("/reset", json={"to": "ada@example.com", "token": "tok-1"})

    assert response.status_code == 202
    mail = await mailbox.wait_for("ada@example.com", subject_contains="Reset")
    assert mail.link == RESET_URL.replace("{token}", "tok-1")
    assert mailbox.token_of(mail) == "tok-1"


async def test_a_sent_mail_has_its_bodies_erased(
    reset_client: httpx.AsyncClient, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    await reset_client.post("/reset", json={"to": "ada@example.com", "token": "tok-1"})
    await mailbox.wait_for("ada@example.com")

    [row] = await stored_mails(engine)
    assert row.sent_at is not None
    assert (row.body_text, row.body_html) == (None, None)
    assert row.attempts == 1
