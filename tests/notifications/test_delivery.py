"""Notifications are written with the change they report and delivered after the response."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backoffice.notifications import delivery
from backoffice.notifications.delivery import NotificationDelivery, NotificationSweeper
from backoffice.notifications.outbox import Outbox
from tests.conftest import SignedInUser
from tests.factories import AccountFactory, EmployeeFactory
from tests.notifications.conftest import Publisher, stored_notifications


def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.db.write
    return maker


async def insert_undelivered(engine: AsyncEngine, user_id: int, message: str) -> int:
    async with engine.begin() as conn:
        new_id: int = (
            await conn.execute(
                text(
                    "INSERT INTO notifications (user_id, kind, message) "
                    "VALUES (:user_id, 'message', :message) RETURNING id"
                ),
                {"user_id": user_id, "message": message},
            )
        ).scalar_one()
    return new_id


async def test_creating_an_account_notifies_its_owner_after_the_response(
    user: SignedInUser, engine: AsyncEngine, make_account: AccountFactory
) -> None:
    account = await make_account(user, "Acme")

    [note] = await stored_notifications(engine, user.id)
    assert note.kind == "account_created"
    assert "Acme" in note.message
    assert note.data == {"account_id": account["id"]}
    assert note.delivered_at is not None


async def test_employee_added_and_removed_notify_the_account_owner(
    client: httpx.AsyncClient,
    user: SignedInUser,
    admin: SignedInUser,
    engine: AsyncEngine,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    employee = await make_employee(admin, account["id"], full_name="Grace Hopper")
    deleted = await client.delete(
        f"/accounts/{account['id']}/employees/{employee['id']}", headers=admin.headers
    )

    assert deleted.status_code == 204
    notes = await stored_notifications(engine, user.id)
    assert [n.kind for n in notes] == ["account_created", "employee_added", "employee_removed"]
    assert all("Grace Hopper" in n.message for n in notes[1:])
    assert notes[2].data == {"account_id": account["id"], "employee_id": employee["id"]}
    assert all(n.delivered_at is not None for n in notes)
    assert await stored_notifications(engine, admin.id) == []


DOOMED_EMPLOYEE = "Refused At Commit"


@pytest.fixture
async def commit_fails_for_doomed_employees(engine: AsyncEngine) -> AsyncIterator[None]:
    """A deferred constraint trigger: the INSERT (and the notification) go through, and
    the COMMIT raises, for an employee with the marker name only."""
    statements = [
        """CREATE FUNCTION refuse_doomed_employee() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation'; END $$""",
        f"""CREATE CONSTRAINT TRIGGER refuse_doomed_employee AFTER INSERT ON employees
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
           WHEN (NEW.full_name = '{DOOMED_EMPLOYEE}')
           EXECUTE FUNCTION refuse_doomed_employee()""",
    ]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER refuse_doomed_employee ON employees"))
        await conn.execute(text("DROP FUNCTION refuse_doomed_employee()"))


@pytest.mark.usefixtures("commit_fails_for_doomed_employees")
async def test_a_change_that_fails_at_commit_leaves_no_notification(
    client: httpx.AsyncClient,
    user: SignedInUser,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    make_account: AccountFactory,
) -> None:
    """The notification row is written in the change's transaction; the commit fails."""
    account = await make_account(user)
    written: list[int] = []
    original = Outbox.notify

    async def recorded(self: Outbox, *args: Any, **kwargs: Any) -> int:
        written.append(await original(self, *args, **kwargs))
        return written[-1]

    monkeypatch.setattr(Outbox, "notify", recorded)

    response = await client.post(
        f"/accounts/{account['id']}/employees",
        json={"full_name": DOOMED_EMPLOYEE, "email": "doomed@example.com"},
        headers=user.headers,
    )

    assert response.status_code == 500
    assert len(written) == 1  # the outbox did write its row before the commit failed
    kinds = [n.kind for n in await stored_notifications(engine, user.id)]
    assert kinds == ["account_created"]
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM employees")) == 0


async def test_a_rolled_back_change_takes_its_notification_with_it(
    client: httpx.AsyncClient,
    user: SignedInUser,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The notification row is written, then the transaction fails before its commit."""
    written: list[int] = []
    original = Outbox.notify

    async def then_fail(self: Outbox, *args: Any, **kwargs: Any) -> int:
        written.append(await original(self, *args, **kwargs))
        raise RuntimeError("the change fails after its notification was written")

    monkeypatch.setattr(Outbox, "notify", then_fail)

    response = await client.post("/accounts", json={"name": "Doomed"}, headers=user.headers)

    assert response.status_code == 500
    assert len(written) == 1
    assert await stored_notifications(engine) == []
    async with engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM accounts"))) == 0


async def test_uncommitted_rows_are_never_delivered(app: FastAPI, user: SignedInUser) -> None:
    async with sessionmaker(app)() as session:
        outbox = Outbox(session)
        note_id = await outbox.notify(user.id, "message", "never committed")
        assert outbox.pending == [note_id]
        # Delivery from another session while the writer is still open sees nothing.
        assert await NotificationDelivery(sessionmaker(app)).deliver([note_id]) == 0
        await session.rollback()
    assert await NotificationDelivery(sessionmaker(app)).deliver([note_id]) == 0


async def test_notify_writes_the_kind_text_and_data_it_is_given_for_its_user(
    app: FastAPI, user: SignedInUser, engine: AsyncEngine
) -> None:
    async with sessionmaker(app)() as session:
        outbox = Outbox(session)
        await outbox.notify(user.id, "thing_happened", "x" * 1200, data={"thing_id": 3})
        await outbox.notify(user.id, "plain", "no data")
        await session.commit()
        pending = list(outbox.pending)

    delivered = await NotificationDelivery(sessionmaker(app)).deliver(pending)

    notes = await stored_notifications(engine, user.id)
    assert delivered == 2
    assert [(n.kind, len(n.message), n.data) for n in notes] == [
        ("thing_happened", 1000, {"thing_id": 3}),
        ("plain", len("no data"), {}),
    ]
    assert all(n.delivered_at is not None for n in notes)


async def test_a_delivery_that_fails_once_is_retried_and_the_request_succeeds(
    client: httpx.AsyncClient,
    user: SignedInUser,
    engine: AsyncEngine,
    publisher: Callable[[int], Publisher],
) -> None:
    flaky = publisher(1)

    response = await client.post("/accounts", json={"name": "Flaky"}, headers=user.headers)

    assert response.status_code == 201
    [note] = await stored_notifications(engine, user.id)
    assert flaky.calls == [note.id, note.id]
    assert flaky.published == [note.id]
    assert note.delivered_at is not None


async def test_a_delivery_that_keeps_failing_is_left_for_the_sweep(
    client: httpx.AsyncClient,
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    publisher: Callable[[int], Publisher],
) -> None:
    broken = publisher(100)

    response = await client.post("/notifications", json={"message": "hi"}, headers=user.headers)

    assert response.status_code == 202
    [note] = await stored_notifications(engine, user.id)
    assert note.delivered_at is None
    assert len(broken.calls) == 1 + len(delivery.RETRY_DELAYS_SECONDS)

    healthy = publisher(0)
    assert await app.state.notification_sweeper.sweep_once() == 1
    assert healthy.published == [note.id]
    [note] = await stored_notifications(engine, user.id)
    assert note.delivered_at is not None


async def test_a_database_error_during_delivery_is_retried(
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    note_id = await insert_undelivered(engine, user.id, "retry me")
    original = delivery.NotificationRepository.stamp_undelivered
    calls: list[int] = []

    async def fails_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("connection reset")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(delivery.NotificationRepository, "stamp_undelivered", fails_once)

    assert await NotificationDelivery(sessionmaker(app)).deliver([note_id]) == 1
    assert len(calls) == 2


async def test_the_sweep_delivers_rows_left_undelivered(
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    publisher: Callable[[int], Publisher],
) -> None:
    """A replica died after committing: its rows are delivered by the next sweep."""
    monkeypatch.setattr(delivery, "SWEEP_BATCH_SIZE", 2)
    ids = [await insert_undelivered(engine, user.id, f"orphan {n}") for n in range(5)]
    recorder = publisher(0)

    swept = await app.state.notification_sweeper.sweep_once()

    assert swept == 5
    assert recorder.published == ids
    assert all(n.delivered_at is not None for n in await stored_notifications(engine))
    assert await app.state.notification_sweeper.sweep_once() == 0


async def test_a_sweep_pass_ends_even_when_a_row_keeps_failing(
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    publisher: Callable[[int], Publisher],
) -> None:
    await insert_undelivered(engine, user.id, "poison")
    publisher(100)

    assert await app.state.notification_sweeper.sweep_once() == 0
    [note] = await stored_notifications(engine)
    assert note.delivered_at is None


async def test_two_deliveries_of_one_row_publish_it_once(
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    publisher: Callable[[int], Publisher],
) -> None:
    note_id = await insert_undelivered(engine, user.id, "once")
    recorder = publisher(0)
    replica_a = NotificationDelivery(sessionmaker(app))
    replica_b = NotificationDelivery(sessionmaker(app))

    results = await asyncio.gather(
        replica_a.deliver([note_id]), replica_b.deliver([note_id]), replica_a.sweep()
    )

    assert sum(results) == 1
    assert recorder.published == [note_id]


async def test_the_sweeper_runs_at_start_and_stops_cleanly(
    app: FastAPI,
    user: SignedInUser,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await insert_undelivered(engine, user.id, "left behind")
    swept = asyncio.Event()
    published: list[int] = []

    async def record(notification: Any) -> None:
        published.append(notification.id)
        swept.set()

    monkeypatch.setattr(delivery, "publish", record)
    sweeper = NotificationSweeper(NotificationDelivery(sessionmaker(app)), 3600)

    sweeper.start()
    await asyncio.wait_for(swept.wait(), timeout=10)
    await sweeper.stop()
    await sweeper.stop()  # stopping twice is harmless

    assert len(published) == 1


async def test_the_sweeper_survives_a_failing_sweep(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = asyncio.Event()
    calls: list[int] = []

    async def failing_sweep() -> int:
        calls.append(1)
        if len(calls) >= 2:
            attempts.set()
        raise OSError("database down")

    sweeper = NotificationSweeper(NotificationDelivery(sessionmaker(app)), 0.001)
    monkeypatch.setattr(sweeper.delivery, "sweep", failing_sweep)

    sweeper.start()
    await asyncio.wait_for(attempts.wait(), timeout=10)
    await sweeper.stop()

    assert len(calls) >= 2


async def test_publishing_logs_one_structured_line(
    client: httpx.AsyncClient, user: SignedInUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="backoffice.notifications")

    response = await client.post("/notifications", json={"message": "log me"}, headers=user.headers)

    lines = [r for r in caplog.records if getattr(r, "event", None) == "notification_delivered"]
    assert len(lines) == 1
    line: Any = lines[0]
    assert (line.notification_id, line.user_id, line.text) == (
        response.json()["id"],
        user.id,
        "log me",
    )
