"""Mails as stored, mails written as a flow writes them, and a route that does so: the
flows that send mail live in other modules; these tests use the outbox on their own."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backoffice.db import SessionDep
from backoffice.mail.dependencies import MailOutboxDep
from backoffice.mail.outbox import MailOutbox
from backoffice.settings import Settings


def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.db.write
    return maker


async def stored_mails(engine: AsyncEngine) -> list[Any]:
    query = (
        "SELECT id, user_id, to_address, subject, body_text, body_html, attempts, created_at, "
        "next_attempt_at, sent_at, failed_at, last_error, next_attempt_at > now() AS waiting "
        "FROM mails ORDER BY id"
    )
    async with engine.connect() as conn:
        return list((await conn.execute(text(query))).all())


async def write_resets(
    app: FastAPI, *addresses: str, settings: Settings | None = None
) -> list[int]:
    """A committed reset mail to each address, whose token is `token-<address>`."""
    async with sessionmaker(app)() as session:
        outbox = MailOutbox(session, settings or app.state.settings)
        for address in addresses:
            await outbox.password_reset(address, f"token-{address}", user_id=None)
        await session.commit()
    return outbox.pending


async def make_due(engine: AsyncEngine) -> None:
    """Time passes: every mail waiting for its next attempt is due now."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE mails SET next_attempt_at = now()"))


def counted(name: str) -> float:
    return REGISTRY.get_sample_value(f"backoffice_mails_{name}_total") or 0.0


@pytest.fixture
async def reset_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`POST /reset {to, token}`: writes a reset mail, commits, answers 202, as a flow
    of another module does; it shares the suite app's state (database, settings,
    delivery)."""
    route_app = FastAPI()
    route_app.state = app.state

    @route_app.post("/reset", status_code=202)
    async def reset(
        body: dict[str, str], mail: MailOutboxDep, session: SessionDep
    ) -> dict[str, int]:
        mail_id = await mail.password_reset(body["to"], body["token"], user_id=None)
        await session.commit()
        return {"id": mail_id}

    transport = httpx.ASGITransport(app=route_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
