"""Mails as stored, and a route that writes them: the flows that send mail live in
other modules; these tests exercise the outbox through one of their own."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.mail.dependencies import MailOutboxDep


async def stored_mails(engine: AsyncEngine) -> list[Any]:
    query = (
        "SELECT id, user_id, to_address, subject, body_text, body_html, attempts, "
        "next_attempt_at, sent_at, failed_at, last_error FROM mails ORDER BY id"
    )
    async with engine.connect() as conn:
        return list((await conn.execute(text(query))).all())


async def make_due(engine: AsyncEngine) -> None:
    """Time passes: every mail waiting for a retry is due now."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE mails SET next_attempt_at = now()"))


@pytest.fixture
async def reset_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`POST /reset {to, token}`: writes a reset mail, commits, answers 202, as a flow
    of another module does; it shares the suite app's state (database, settings,
    delivery)."""
    route_app = FastAPI()
    route_app.state = app.state

    @route_app.post("/reset", status_code=202)
    async def reset(body: dict[str, str], mail: MailOutboxDep) -> dict[str, int]:
        mail_id = await mail.password_reset(body["to"], body["token"], user_id=None)
        await mail._repo.session.commit()
        return {"id": mail_id}

    transport = httpx.ASGITransport(app=route_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
