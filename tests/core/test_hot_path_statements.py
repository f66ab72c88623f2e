"""Each hot read sends a fixed, small number of statements and no transaction control.

Two sources together see every round trip: SQLAlchemy's `before_cursor_execute` event
sees each statement it sends (as prepared statements, which asyncpg does not log), and
asyncpg's query logger sees what the driver sends by itself: `BEGIN`, `ROLLBACK` and the
pre-ping's `;`. A change that adds a round trip to a hot route fails here rather than
in a benchmark.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.main import create_app
from backoffice.settings import Settings
from tests.conftest import SignedInUser

TRANSACTION_CONTROL = ("BEGIN", "ROLLBACK", "COMMIT", ";")


@dataclass(eq=False)  # hashable: asyncpg keeps its query loggers in a set
class Recorder:
    """The text of every query the app's connections send while `recording`."""

    recording: bool = False
    queries: list[str] = field(default_factory=list)

    def __call__(self, record: Any) -> None:
        """asyncpg's query logger: BEGIN, COMMIT, ROLLBACK and the ping."""
        self.add(record.query)

    def add(self, query: str) -> None:
        if self.recording:
            self.queries.append(query.strip())


@dataclass
class Recorded:
    client: httpx.AsyncClient
    recorder: Recorder

    async def get(self, path: str, user: SignedInUser) -> list[str]:
        return await self.send("GET", path, user, 200)

    async def send(
        self, method: str, path: str, user: SignedInUser, status: int, json: Any = None
    ) -> list[str]:
        self.recorder.queries.clear()
        self.recorder.recording = True
        try:
            response = await self.client.request(method, path, json=json, headers=user.headers)
            await asyncio.sleep(0)  # asyncpg calls its query loggers with `call_soon`
        finally:
            self.recorder.recording = False
        assert response.status_code == status, response.text
        return list(self.recorder.queries)


@pytest.fixture
async def recorded(settings: Settings) -> AsyncIterator[Recorded]:
    app = create_app(settings)
    recorder = Recorder()
    async with app.router.lifespan_context(app):
        # The notification sweeper's statements (its first sweep runs at start-up) are
        # not the route's: it is stopped before anything is recorded.
        await app.state.notification_sweeper.stop()
        engine: AsyncEngine = app.state.engine

        @event.listens_for(engine.sync_engine, "connect")
        def log_driver_queries(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(recorder)

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def log_statement(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
            recorder.add(statement)

        await engine.dispose()  # connections opened before the listener are not kept
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as c:
            yield Recorded(c, recorder)


@pytest.fixture
async def item_id(client: httpx.AsyncClient, user: SignedInUser) -> int:
    created = await client.post(
        "/items", json={"name": "Lamp", "category": "home", "price": "20"}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    item: int = created.json()["id"]
    return item


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/items/{item_id}", 1),
        ("/users/me", 1),
        ("/items?category=home&min_price=1&sort=price&order=desc&limit=20", 1),
        ("/items?category=none", 2),  # an empty page: the caller check on its own
        ("/items?skip=5", 2),  # and the total past the first page with it
    ],
)
async def test_hot_read_sends_at_most_its_statements(
    recorded: Recorded, user: SignedInUser, item_id: int, path: str, limit: int
) -> None:
    queries = await recorded.get(path.format(item_id=item_id), user)
    assert 1 <= len(queries) <= limit, queries


@pytest.mark.parametrize(
    "path", ["/items/{item_id}", "/users/me", "/items?category=home&sort=price"]
)
async def test_hot_read_sends_no_transaction_control_or_ping(
    recorded: Recorded, user: SignedInUser, item_id: int, path: str
) -> None:
    queries = await recorded.get(path.format(item_id=item_id), user)
    assert not [q for q in queries if q.upper().startswith(TRANSACTION_CONTROL) or q == ""], queries


async def test_creating_an_item_and_delivering_its_notification_send_eight_statements(
    recorded: Recorded, user: SignedInUser
) -> None:
    """The request's transaction: BEGIN, the caller check, the item, its notification,
    COMMIT; the delivery after the response: BEGIN, one UPDATE that stamps the row and
    returns what is published, COMMIT."""
    body = {"name": "Desk", "category": "home", "price": "20"}
    queries = await recorded.send("POST", "/items", user, 201, json=body)
    assert len(queries) == 8, queries
    assert [q for q in queries if q.startswith("UPDATE notifications")] != [], queries
