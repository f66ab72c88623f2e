"""Helpers to look at notifications as stored, and to control delivery in tests."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.notifications import delivery


async def stored_notifications(engine: AsyncEngine, user_id: int | None = None) -> list[Any]:
    query = "SELECT id, user_id, kind, message, data, delivered_at, read_at FROM notifications"
    params: dict[str, Any] = {}
    if user_id is not None:
        query += " WHERE user_id = :user_id"
        params["user_id"] = user_id
    async with engine.connect() as conn:
        return list((await conn.execute(text(query + " ORDER BY id"), params)).all())


@pytest.fixture(autouse=True)
def no_retry_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen at once in tests; the pauses are a production concern."""
    monkeypatch.setattr(delivery, "RETRY_DELAYS_SECONDS", (0.0, 0.0))


class Publisher:
    """A stand-in for `delivery.publish` that records, and fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[int] = []
        self.published: list[int] = []

    async def __call__(self, notification: Any) -> None:
        self.calls.append(notification.id)
        if len(self.calls) <= self.failures:
            raise RuntimeError("channel down")
        self.published.append(notification.id)


@pytest.fixture
def publisher(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Publisher]:
    def install(failures: int = 0) -> Publisher:
        fake = Publisher(failures)
        monkeypatch.setattr(delivery, "publish", fake)
        return fake

    return install
