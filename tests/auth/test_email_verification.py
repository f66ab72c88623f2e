"""Address verification: the link mailed at sign-up (or on request), followed through HTTP."""

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.settings import Settings
from tests.conftest import PASSWORD, SignedInUser
from tests.links import (
    VERIFY_SUBJECT,
    expire_links,
    login,
    mailed_token,
    mails_to,
    mails_written_to,
    me,
    reset_token,
    verify,
)
from tests.mail_server import Mailbox


@pytest.fixture
def verified_email_required(app: FastAPI, settings: Settings) -> Iterator[None]:
    app.state.settings = settings.model_copy(update={"require_verified_email": True})
    yield
    app.state.settings = settings


async def register(client: httpx.AsyncClient, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "full_name": "New"}
    assert (await client.post("/auth/register", json=body)).status_code == 201


async def test_a_new_user_is_unverified_with_nothing_pending(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    body = await me(client, user.headers)
    assert (body["email_verified"], body["pending_email"]) == (False, None)


async def test_the_link_mailed_at_sign_up_verifies_the_address(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await mailed_token(mailbox, user.email, VERIFY_SUBJECT)
    assert (await verify(client, token)).status_code == 204
    assert (await me(client, user.headers))["email_verified"] is True


async def test_a_verification_link_works_once(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await mailed_token(mailbox, user.email, VERIFY_SUBJECT)
    assert (await verify(client, token)).status_code == 204
    again = await verify(client, token)
    assert (again.status_code, again.json()["code"]) == (400, "invalid_token")


async def test_an_expired_verification_link_is_400(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    token = await mailed_token(mailbox, user.email, VERIFY_SUBJECT)
    await expire_links(engine)
    response = await verify(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")
    assert (await me(client, user.headers))["email_verified"] is False


async def test_a_reset_link_is_no_verification_link(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    token = await reset_token(client, mailbox, user.email)
    response = await verify(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


@pytest.mark.parametrize(
    "token",
    ["A" * 43, "not a token", "", "x" * 100_000, "\x00" * 43],
    ids=["unknown", "malformed", "empty", "too-long", "nul"],
)
async def test_a_wrong_verification_token_is_400_invalid_token(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await verify(client, token)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_token")


@pytest.mark.parametrize("body", [{}, {"token": 5}, {"token": None}])
async def test_a_verification_without_a_token_string_is_422(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await client.post("/auth/email/verify", json=body)).status_code == 422


async def test_resend_mails_a_new_link_and_voids_the_old_one(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    older = await mailed_token(mailbox, user.email, VERIFY_SUBJECT)
    response = await client.post("/auth/email/verify/resend", headers=user.headers)
    assert response.status_code == 202
    for _ in range(100):
        mails = mails_to(mailbox, user.email, VERIFY_SUBJECT)
        if len(mails) == 2:
            break
        await asyncio.sleep(0.05)
    newer = mailbox.token_of(mails[-1])
    assert (await verify(client, older)).status_code == 400
    assert (await verify(client, newer)).status_code == 204


async def test_resend_with_nothing_to_verify_is_409(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await verify(client, await mailed_token(mailbox, user.email, VERIFY_SUBJECT))
    response = await client.post("/auth/email/verify/resend", headers=user.headers)
    assert (response.status_code, response.json()["code"]) == (409, "email_already_verified")


async def test_resend_past_the_hourly_links_answers_the_same_and_sends_nothing(
    engine: AsyncEngine, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """Sign-up sent the first of the three links an address gets per hour; a 429 here
    would tell how many links others asked for the address."""
    answers = [
        await client.post("/auth/email/verify/resend", headers=user.headers) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.text for a in answers}) == 1
    assert await mails_written_to(engine, user.email) == 3


async def test_a_throttled_resend_leaves_the_last_link_working(
    mailbox: Mailbox, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    for _ in range(3):
        await client.post("/auth/email/verify/resend", headers=user.headers)
    for _ in range(100):
        mails = mails_to(mailbox, user.email, VERIFY_SUBJECT)
        if len(mails) == 3:
            break
        await asyncio.sleep(0.05)
    assert (await verify(client, mailbox.token_of(mails[-1]))).status_code == 204


async def test_sign_in_of_an_unverified_address_is_403_when_required(
    client: httpx.AsyncClient, verified_email_required: None
) -> None:
    await register(client, "new@example.com")
    response = await login(client, "new@example.com", PASSWORD)
    assert (response.status_code, response.json()["code"]) == (403, "email_not_verified")


async def test_sign_in_of_an_unverified_address_with_a_wrong_password_is_401(
    client: httpx.AsyncClient, verified_email_required: None
) -> None:
    """The 403 comes after the password check: it tells a stranger nothing."""
    await register(client, "new@example.com")
    response = await login(client, "new@example.com", "not the password")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")


async def test_sign_in_after_following_the_link_works_when_required(
    mailbox: Mailbox, client: httpx.AsyncClient, verified_email_required: None
) -> None:
    await register(client, "new@example.com")
    await verify(client, await mailed_token(mailbox, "new@example.com", VERIFY_SUBJECT))
    assert (await login(client, "new@example.com", PASSWORD)).status_code == 200


async def test_a_reset_lets_an_unverified_user_in_when_required(
    mailbox: Mailbox, client: httpx.AsyncClient, verified_email_required: None
) -> None:
    """A lost sign-up mail is no dead end: the reset link proves the address too."""
    await register(client, "new@example.com")
    token = await reset_token(client, mailbox, "new@example.com")
    await client.post(
        "/auth/password/reset", json={"token": token, "new_password": "a brand new password"}
    )
    assert (await login(client, "new@example.com", "a brand new password")).status_code == 200
