"""The four mails other modules send: each arrives through SMTP worded for its reason,
with the link its template makes."""

from fastapi import FastAPI

from backoffice.mail.outbox import MailOutbox
from tests.conftest import SignedInUser
from tests.mail.conftest import sessionmaker
from tests.mail_server import Mailbox


async def send(app: FastAPI, *calls: tuple[str, tuple[str, ...], int | None]) -> None:
    """Write each `(method, args, user_id)` through one outbox, commit, deliver."""
    async with sessionmaker(app)() as session:
        outbox = MailOutbox(session, app.state.settings)
        for method, args, user_id in calls:
            await getattr(outbox, method)(*args, user_id=user_id)
        await session.commit()
    assert await app.state.mail_delivery.deliver(outbox.pending) == len(calls)


async def test_a_verification_mail_carries_the_verify_link(
    app: FastAPI, mailbox: Mailbox, user: SignedInUser
) -> None:
    await send(app, ("verify_email", ("new@example.com", "v-token"), user.id))

    mail = await mailbox.wait_for("new@example.com", subject_contains="Confirm")
    assert mail.link == "https://app.example.com/verify?token=v-token"
    assert "48 hours" in mail.text


async def test_a_reset_mail_says_how_long_its_link_lasts(app: FastAPI, mailbox: Mailbox) -> None:
    await send(app, ("password_reset", ("ada@example.com", "r-token"), None))

    mail = await mailbox.wait_for("ada@example.com", subject_contains="Reset")
    assert mail.link == "https://app.example.com/reset?token=r-token"
    assert "30 minutes" in mail.text


async def test_the_change_notice_and_the_password_notice_carry_no_link(
    app: FastAPI, mailbox: Mailbox, user: SignedInUser
) -> None:
    await send(
        app,
        ("email_change_notice", (user.email, "new&co@example.com"), user.id),
        ("password_changed", (user.email,), user.id),
    )

    notice = await mailbox.wait_for(user.email, subject_contains="change of your email")
    changed = await mailbox.wait_for(user.email, subject_contains="password was changed")
    assert "new&co@example.com" in notice.text
    assert notice.html is not None
    assert "new&amp;co@example.com" in notice.html
    assert (notice.link, changed.link) == (None, None)


async def test_an_app_deep_link_template_is_kept_whole(app: FastAPI, mailbox: Mailbox) -> None:
    settings = app.state.settings.model_copy(
        update={"password_reset_url": "myapp://reset?token={token}&from=mail"}
    )
    async with sessionmaker(app)() as session:
        outbox = MailOutbox(session, settings)
        await outbox.password_reset("ada@example.com", "deep", user_id=None)
        await session.commit()
    await app.state.mail_delivery.deliver(outbox.pending)

    mail = await mailbox.wait_for("ada@example.com")
    assert mail.link == "myapp://reset?token=deep&from=mail"
    assert mailbox.token_of(mail) == "deep"
