"""Mails are written with the change that needs them, sent after the response, retried
while the SMTP server fails, and sent once."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.mail import delivery
from backoffice.mail.backends import ConsoleBackend, SmtpBackend
from backoffice.mail.delivery import MailDelivery
from backoffice.mail.outbox import MailOutbox
from tests.conftest import SignedInUser
from tests.mail.conftest import counted, make_due, sessionmaker, stored_mails, write_resets
from tests.mail_server import Mailbox, SmtpServer

RESET_URL = "https://app.example.com/reset?token={token}"


async def test_a_mail_arrives_after_the_response_with_the_link_its_template_makes(
    reset_client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    response = await reset_client.post("/reset", json={"to": "ada@example.com", "token": "tok-1"})

    assert response.status_code == 202
    mail = await mailbox.wait_for("ada@example.com", subject_contains="Reset")
    assert mail.link == RESET_URL.replace("{token}", "tok-1")
    assert mailbox.token_of(mail) == "tok-1"


async def test_a_mail_has_an_html_alternative_with_the_same_link(
    app: FastAPI, mailbox: Mailbox
) -> None:
    ids = await write_resets(app, "ada@example.com")

    assert await app.state.mail_delivery.deliver(ids) == 1

    mail = await mailbox.wait_for("ada@example.com")
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.html is not None
    assert f'<a href="{mail.link}">' in mail.html
    assert mail.message["From"] == "backoffice <no-reply@backoffice.test>"


async def test_a_sent_mail_has_its_bodies_erased(
    reset_client: httpx.AsyncClient, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    sent = counted("sent")

    await reset_client.post("/reset", json={"to": "ada@example.com", "token": "tok-1"})
    await mailbox.wait_for("ada@example.com")

    [row] = await stored_mails(engine)
    assert row.sent_at is not None
    assert (row.body_text, row.body_html) == (None, None)
    assert (row.to_address, row.attempts) == ("ada@example.com", 1)
    assert counted("sent") == sent + 1


async def test_a_mail_written_while_the_server_is_down_arrives_once_it_is_back(
    reset_client: httpx.AsyncClient,
    app: FastAPI,
    engine: AsyncEngine,
    mailbox: Mailbox,
    smtp_server: SmtpServer,
) -> None:
    retried = counted("retried")
    smtp_server.stop()

    response = await reset_client.post("/reset", json={"to": "ada@example.com", "token": "t-2"})

    assert response.status_code == 202
    [row] = await stored_mails(engine)
    assert (row.sent_at, row.failed_at, row.attempts) == (None, None, 1)
    assert row.waiting
    assert "SMTPConnectError" in row.last_error
    assert counted("retried") == retried + 1
    assert await app.state.mail_sweeper.sweep_once() == 0  # its retry is not due yet

    smtp_server.start()
    await make_due(engine)
    assert await app.state.mail_sweeper.sweep_once() == 1

    mail = await mailbox.wait_for("ada@example.com")
    assert mailbox.token_of(mail) == "t-2"
    [row] = await stored_mails(engine)
    assert (row.attempts, row.last_error, row.body_text) == (2, None, None)


async def test_two_sweepers_and_a_delivery_task_send_each_mail_once(
    app: FastAPI, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "SWEEP_BATCH_SIZE", 2)
    addresses = [f"user{n}@example.com" for n in range(6)]
    ids = await write_resets(app, *addresses)
    backend = app.state.mail_delivery.backend
    replica_a = MailDelivery(sessionmaker(app), backend, 15)
    replica_b = MailDelivery(sessionmaker(app), backend, 15)

    results = await asyncio.gather(replica_a.sweep(), replica_b.sweep(), replica_a.deliver(ids))

    assert sum(results) == len(addresses)
    assert sorted(mail.to for mail in mailbox.messages) == addresses


async def deliver_refused(
    app: FastAPI, engine: AsyncEngine, smtp_server: SmtpServer, reply: str
) -> tuple[Any, float, float]:
    """One mail whose recipient the server refuses with `reply`: its row after one
    attempt, and how much the failed and retried counters grew."""
    failed, retried = counted("failed"), counted("retried")
    smtp_server.recorder.refuse_recipients_with = reply
    ids = await write_resets(app, "ada@example.com")
    assert await app.state.mail_delivery.deliver(ids) == 0
    [row] = await stored_mails(engine)
    return row, counted("failed") - failed, counted("retried") - retried


async def test_a_recipient_refused_for_good_is_given_up_at_once(
    app: FastAPI, engine: AsyncEngine, mailbox: Mailbox, smtp_server: SmtpServer
) -> None:
    row, failed, retried = await deliver_refused(app, engine, smtp_server, "550 5.1.1 No such user")

    assert row.failed_at is not None
    assert "550" in row.last_error
    assert (row.body_text, row.body_html) == (None, None)
    assert (failed, retried) == (1, 0)
    assert mailbox.messages == []


async def test_a_recipient_refused_for_now_is_retried_later(
    app: FastAPI, engine: AsyncEngine, mailbox: Mailbox, smtp_server: SmtpServer
) -> None:
    row, failed, retried = await deliver_refused(app, engine, smtp_server, "451 4.3.0 Try later")

    assert (row.failed_at, row.sent_at) == (None, None)
    assert row.waiting
    assert "451" in row.last_error
    assert row.body_text is not None
    assert (failed, retried) == (0, 1)


async def test_a_mail_is_given_up_after_its_last_attempt(
    app: FastAPI,
    engine: AsyncEngine,
    smtp_server: SmtpServer,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "RETRY_DELAYS_SECONDS", (30.0,))
    failed = counted("failed")
    smtp_server.stop()
    ids = await write_resets(app, "ada@example.com")

    assert await app.state.mail_delivery.deliver(ids) == 0
    await make_due(engine)
    assert await app.state.mail_sweeper.sweep_once() == 0

    [row] = await stored_mails(engine)
    assert row.attempts == 2
    assert row.failed_at is not None
    assert (row.body_text, row.body_html) == (None, None)
    assert counted("failed") == failed + 1
    await make_due(engine)
    assert await app.state.mail_sweeper.sweep_once() == 0  # a given-up mail stays given up
    assert (await stored_mails(engine))[0].attempts == 2


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_a_server_that_never_answers_is_given_up_on_and_the_mail_retried(
    app: FastAPI, engine: AsyncEngine, silent_server: int
) -> None:
    settings = app.state.settings.model_copy(
        update={"smtp_port": silent_server, "smtp_timeout_seconds": 0.2}
    )
    ids = await write_resets(app, "ada@example.com")

    sent = await MailDelivery(sessionmaker(app), SmtpBackend(settings), 1.0).deliver(ids)

    assert sent == 0
    [row] = await stored_mails(engine)
    assert row.waiting
    assert "Timeout" in row.last_error


async def test_a_rolled_back_mail_is_never_sent(app: FastAPI, mailbox: Mailbox) -> None:
    async with sessionmaker(app)() as session:
        outbox = MailOutbox(session, app.state.settings)
        mail_id = await outbox.password_reset("ada@example.com", "tok", user_id=None)
        assert outbox.pending == [mail_id]
        # Delivery from another session while the writer is still open sees nothing.
        assert await app.state.mail_delivery.deliver([mail_id]) == 0
        await session.rollback()

    assert await app.state.mail_delivery.deliver([mail_id]) == 0
    assert await app.state.mail_sweeper.sweep_once() == 0
    assert mailbox.messages == []


async def test_the_console_backend_logs_the_whole_mail_with_its_link(
    app: FastAPI, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="backoffice.mail")
    ids = await write_resets(app, "ada@example.com")

    assert await MailDelivery(sessionmaker(app), ConsoleBackend(), 1.0).deliver(ids) == 1

    [line] = [r for r in caplog.records if getattr(r, "event", None) == "mail_logged"]
    link = RESET_URL.replace("{token}", "token-ada@example.com")
    assert link.replace("@", "%40") in line.getMessage()
    assert (getattr(line, "to", None), getattr(line, "subject", None)) == (
        "ada@example.com",
        "Reset your password",
    )
    [row] = await stored_mails(engine)
    assert row.sent_at is not None


async def test_metrics_count_mails_sent_retried_and_failed(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/metrics")

    for name in ("sent", "retried", "failed"):
        assert f"backoffice_mails_{name}_total " in response.text


async def test_a_mail_the_task_could_not_claim_is_sent_by_the_sweep(
    app: FastAPI, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await write_resets(app, "ada@example.com")

    async def database_down(*args: Any, **kwargs: Any) -> Any:
        raise OSError("connection reset")

    with monkeypatch.context() as patched:
        patched.setattr(delivery.MailRepository, "claim", database_down)
        assert await app.state.mail_delivery.deliver(ids) == 0

    assert await app.state.mail_sweeper.sweep_once() == 1
    await mailbox.wait_for("ada@example.com")


async def test_a_deleted_users_pending_mails_go_with_them(
    app: FastAPI, engine: AsyncEngine, user: SignedInUser, mailbox: Mailbox
) -> None:
    async with sessionmaker(app)() as session:
        outbox = MailOutbox(session, app.state.settings)
        await outbox.password_changed(user.email, user_id=user.id)
        await session.commit()
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})

    assert await stored_mails(engine) == []
    assert await app.state.mail_sweeper.sweep_once() == 0
    assert mailbox.messages == []
