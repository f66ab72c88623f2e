"""Forgotten password: a link mailed through the real SMTP server, followed through HTTP."""

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PASSWORD, SignedInUser
from tests.links import (
    CHANGED_SUBJECT,
    NEW_PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    expire_links,
    login,
    mailed_token,
    mails_to,
    mails_written_to,
    reset,
    reset_token,
)
from tests.mail_server import Mailbox


async def test_a_mailed_reset_link_sets_the_new_password(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    assert (await reset(client, token)).status_code == 204
    assert (await login(client, user.email, NEW_PASSWORD)).status_code == 200
    assert (await login(client, user.email, PASSWORD)).status_code == 401


async def test_forgot_answers_an_unknown_address_exactly_as_a_known_one(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    known = await client.post("/auth/password/forgot", json={"email": user.email})
    unknown = await client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


async def test_forgot_writes_a_token_row_for_an_unknown_address_too(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    """The same statements either way (but the mail row): nothing for a stopwatch to tell."""
    for email in (user.email, "nobody@example.com"):
        await client.post("/auth/password/forgot", json={"email": email})
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT email, user_id IS NULL FROM one_time_tokens "
                    "WHERE purpose = 'password_reset' ORDER BY id"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [(user.email, False), ("nobody@example.com", True)]


async def test_forgot_sends_nothing_to_an_unknown_address(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    assert await mails_written_to(engine, "nobody@example.com") == 0


async def test_forgot_for_an_unknown_address_writes_its_mail_row_given_up_and_empty(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The same INSERT as for an account, so a stopwatch cannot tell them apart."""
    await client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT body_text, body_html, failed_at IS NOT NULL, sent_at, attempts "
                "FROM mails WHERE to_address = 'nobody@example.com'"
            )
        )
        assert [tuple(row) for row in rows] == [(None, None, True, None, 0)]


async def test_forgot_sends_nothing_to_a_deactivated_account(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, engine: AsyncEngine
) -> None:
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    before = await mails_written_to(engine, user.email)  # sign-up's verification
    answer = await client.post("/auth/password/forgot", json={"email": user.email})
    assert answer.status_code == 202
    assert await mails_written_to(engine, user.email) == before


async def test_a_reset_link_of_a_since_deactivated_account_is_400(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    response = await reset(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


async def test_a_reset_refuses_every_earlier_access_token_at_once(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await reset(client, await reset_token(client, mailbox, user.email))
    assert (await client.get("/users/me", headers=user.headers)).status_code == 401


async def test_a_reset_revokes_every_refresh_token(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await reset(client, await reset_token(client, mailbox, user.email))
    response = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 401


async def test_a_reset_mails_that_the_password_was_changed(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await reset(client, await reset_token(client, mailbox, user.email))
    mail = await mailbox.wait_for(user.email, subject_contains=CHANGED_SUBJECT)
    assert mail.link is None or "token=" not in mail.link


async def test_a_reset_confirms_the_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """The link was followed: whoever holds the mailbox holds the address."""
    await reset(client, await reset_token(client, mailbox, user.email))
    signed_in = (await login(client, user.email, NEW_PASSWORD)).json()
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {signed_in['access_token']}"}
    )
    assert me.json()["email_verified"] is True


async def test_a_reset_link_works_once(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    assert (await reset(client, token)).status_code == 204
    again = await reset(client, token, "yet another password")
    assert (again.status_code, again.json()["code"]) == (400, "invalid_token")


async def test_two_racing_resets_with_one_link_give_one_204_and_one_400(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    first, second = await asyncio.gather(
        reset(client, token, "first racing password"),
        reset(client, token, "second racing password"),
    )
    assert sorted((first.status_code, second.status_code)) == [204, 400]
    winner = "first racing password" if first.status_code == 204 else "second racing password"
    assert (await login(client, user.email, winner)).status_code == 200


async def test_a_newer_reset_request_voids_the_older_link(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    older = await reset_token(client, mailbox, user.email)
    await client.post("/auth/password/forgot", json={"email": user.email})
    for _ in range(100):
        mails = mails_to(mailbox, user.email, RESET_SUBJECT)
        if len(mails) == 2:
            break
        await asyncio.sleep(0.05)
    newer = mailbox.token_of(mails[-1])
    assert newer != older
    assert (await reset(client, older)).status_code == 400
    assert (await reset(client, newer)).status_code == 204


async def test_an_expired_reset_link_is_400(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    token = await reset_token(client, mailbox, user.email)
    await expire_links(engine)
    response = await reset(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


async def test_a_verification_link_is_no_reset_link(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await mailed_token(mailbox, user.email, VERIFY_SUBJECT)
    response = await reset(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


async def test_a_reset_link_of_an_address_the_account_left_is_400(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    await client.patch("/users/me", json={"email": "moved@example.com"}, headers=user.headers)
    moved = await mailed_token(mailbox, "moved@example.com", VERIFY_SUBJECT)
    assert (await client.post("/auth/email/verify", json={"token": moved})).status_code == 204
    assert (await reset(client, token)).status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # the shape of a token, never issued
        "not a token",
        "",
        "x" * 100_000,
        "\x00" * 43,
        "é" * 43,
    ],
    ids=["unknown", "malformed", "empty", "too-long", "nul", "non-ascii"],
)
async def test_a_wrong_reset_token_is_400_invalid_token(
    client: httpx.AsyncClient, user: SignedInUser, token: str
) -> None:
    response = await reset(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


async def test_a_reset_without_a_token_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/password/reset", json={"new_password": NEW_PASSWORD})
    assert response.status_code == 422


async def test_a_reset_to_a_seven_byte_password_is_422_and_keeps_the_link(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    assert (await reset(client, token, "1234567")).status_code == 422
    assert (await reset(client, token)).status_code == 204


async def test_forgot_with_a_malformed_address_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/password/forgot", json={"email": "not-an-address"})
    assert response.status_code == 422


async def test_forgot_past_the_hourly_links_answers_202_and_sends_nothing(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    answers = [
        await client.post("/auth/password/forgot", json={"email": user.email}) for _ in range(4)
    ]
    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.text for answer in answers}) == 1
    async with engine.connect() as conn:
        links, mails = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM one_time_tokens WHERE purpose = :purpose), "
                    "(SELECT count(*) FROM mails WHERE subject = :subject)"
                ),
                {"purpose": "password_reset", "subject": RESET_SUBJECT},
            )
        ).one()
    assert (links, mails) == (3, 3)
