"""An email change takes effect once the new address confirms it, and the old one hears of it."""

import asyncio

import httpx

from tests.conftest import PASSWORD, SignedInUser
from tests.links import NOTICE_SUBJECT, VERIFY_SUBJECT, login, mailed_token, mails_to, me, verify
from tests.mail_server import Mailbox

NEW_EMAIL = "ada.king@example.com"


async def change_email(
    client: httpx.AsyncClient, user: SignedInUser, email: str = NEW_EMAIL
) -> httpx.Response:
    return await client.patch("/users/me", json={"email": email}, headers=user.headers)


async def test_an_email_change_keeps_the_email_and_shows_the_pending_one(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await change_email(client, user)
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["pending_email"]) == (user.email, NEW_EMAIL)
    assert (await me(client, user.headers))["email"] == user.email


async def test_an_email_change_mails_a_link_to_the_new_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    token = await mailed_token(mailbox, NEW_EMAIL, VERIFY_SUBJECT)
    assert (await verify(client, token)).status_code == 204
    body = await me(client, user.headers)
    assert (body["email"], body["email_verified"], body["pending_email"]) == (
        NEW_EMAIL,
        True,
        None,
    )


async def test_an_email_change_mails_a_notice_to_the_old_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    notice = await mailbox.wait_for(user.email, subject_contains=NOTICE_SUBJECT)
    assert NEW_EMAIL in notice.text


async def test_after_the_change_the_user_signs_in_with_the_new_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    await verify(client, await mailed_token(mailbox, NEW_EMAIL, VERIFY_SUBJECT))
    assert (await login(client, NEW_EMAIL, PASSWORD)).status_code == 200
    assert (await login(client, user.email, PASSWORD)).status_code == 401


async def test_a_change_to_a_taken_address_answers_as_any_other(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    """Regression: `PATCH /users/me` answered 409 `email_taken`, telling anyone signed in
    which addresses have an account."""
    taken = await change_email(client, user, admin.email.upper())
    free = await change_email(client, admin, "free@example.com")
    assert taken.status_code == free.status_code == 200
    assert taken.json()["pending_email"] == admin.email


async def test_confirming_an_address_taken_meanwhile_is_409(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    token = await mailed_token(mailbox, NEW_EMAIL, VERIFY_SUBJECT)
    body = {"email": NEW_EMAIL, "password": PASSWORD, "full_name": "Quicker"}
    assert (await client.post("/auth/register", json=body)).status_code == 201
    response = await verify(client, token)
    assert (response.status_code, response.json()["code"]) == (409, "email_taken")
    assert (await me(client, user.headers))["email"] == user.email


async def test_sending_the_current_address_cancels_a_pending_change(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    token = await mailed_token(mailbox, NEW_EMAIL, VERIFY_SUBJECT)
    cancelled = await change_email(client, user, user.email)
    assert cancelled.json()["pending_email"] is None
    assert (await verify(client, token)).status_code == 400
    assert (await me(client, user.headers))["email"] == user.email


async def test_a_newer_change_voids_the_link_of_the_older_one(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user, "first@example.com")
    first = await mailed_token(mailbox, "first@example.com", VERIFY_SUBJECT)
    await change_email(client, user, "second@example.com")
    second = await mailed_token(mailbox, "second@example.com", VERIFY_SUBJECT)
    assert (await verify(client, first)).status_code == 400
    assert (await verify(client, second)).status_code == 204
    assert (await me(client, user.headers))["email"] == "second@example.com"


async def test_resend_mails_a_new_link_to_the_pending_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await change_email(client, user)
    await mailed_token(mailbox, NEW_EMAIL, VERIFY_SUBJECT)
    response = await client.post("/auth/email/verify/resend", headers=user.headers)
    assert response.status_code == 202
    for _ in range(100):
        mails = mails_to(mailbox, NEW_EMAIL, VERIFY_SUBJECT)
        if len(mails) == 2:
            break
        await asyncio.sleep(0.05)
    assert (await verify(client, mailbox.token_of(mails[-1]))).status_code == 204
    assert (await me(client, user.headers))["email"] == NEW_EMAIL


async def test_a_name_change_alone_sends_no_mail(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await mailed_token(mailbox, user.email, VERIFY_SUBJECT)  # sign-up's
    response = await client.patch("/users/me", json={"full_name": "Renamed"}, headers=user.headers)
    assert response.json()["pending_email"] is None
    assert mails_to(mailbox, user.email, NOTICE_SUBJECT) == []
