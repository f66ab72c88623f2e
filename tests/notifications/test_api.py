"""The notification API: list, mark read, send (to oneself, or as admin to anyone)."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import AccountFactory
from tests.notifications.conftest import stored_notifications


async def send(client: httpx.AsyncClient, sender: SignedInUser, **body: object) -> httpx.Response:
    return await client.post("/notifications", json=body, headers=sender.headers)


async def test_sending_to_oneself_is_202_and_delivered_after_the_response(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await send(client, user, message="Remember the milk")

    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["message"]) == ("message", "Remember the milk")
    assert body["delivered_at"] is None  # the response left before delivery
    [stored] = await stored_notifications(engine, user.id)
    assert stored.id == body["id"]
    assert stored.delivered_at is not None


async def test_a_user_cannot_notify_another_user(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    alice, bob = await make_user(), await make_user()

    to_bob = await send(client, alice, message="hi", user_id=bob.id)
    to_nobody = await send(client, alice, message="hi", user_id=999_999)

    assert to_bob.status_code == 403
    assert to_bob.json()["code"] == "cannot_notify_others"
    assert to_nobody.status_code == 403  # never reveals whether a user exists
    assert await stored_notifications(engine) == []


async def test_a_user_may_name_themself(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await send(client, user, message="me", user_id=user.id)
    assert response.status_code == 202


async def test_admin_notifies_anyone_and_unknown_users_are_404(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    sent = await send(client, admin, message="Welcome", user_id=user.id)
    unknown = await send(client, admin, message="Hello?", user_id=999_999)

    assert sent.status_code == 202
    assert unknown.status_code == 404
    inbox = (await client.get("/notifications", headers=user.headers)).json()
    assert [n["message"] for n in inbox["items"]] == ["Welcome"]
    assert inbox["items"][0]["data"] == {"from_user_id": admin.id}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": "x" * 1001},
        {"message": "nul\x00"},
        {"message": "hi", "kind": "alert"},
        {"message": "hi", "user_id": 0},
    ],
)
async def test_invalid_messages_are_422(
    client: httpx.AsyncClient, user: SignedInUser, body: dict[str, object]
) -> None:
    response = await client.post("/notifications", json=body, headers=user.headers)
    assert response.status_code == 422


async def test_notifications_require_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/notifications")).status_code == 401
    assert (await client.post("/notifications", json={"message": "x"})).status_code == 401
    assert (await client.post("/notifications/1/read")).status_code == 401


async def test_list_is_mine_only_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    for message in ("first", "second", "third"):
        await send(client, alice, message=message)
    await send(client, bob, message="bob's")

    body = (await client.get("/notifications", headers=alice.headers)).json()

    assert [n["message"] for n in body["items"]] == ["third", "second", "first"]
    assert body["total"] == 3
    assert all(n["delivered_at"] is not None for n in body["items"])


async def test_marking_read_filters_unread_and_keeps_the_first_stamp(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    first = (await send(client, user, message="first")).json()
    await send(client, user, message="second")

    assert (
        await client.post(f"/notifications/{first['id']}/read", headers=user.headers)
    ).status_code == 204
    read_once = (await client.get("/notifications?unread=false", headers=user.headers)).json()
    again = await client.post(f"/notifications/{first['id']}/read", headers=user.headers)
    read_twice = (await client.get("/notifications?unread=false", headers=user.headers)).json()
    unread = (await client.get("/notifications?unread=true", headers=user.headers)).json()
    everything = (await client.get("/notifications", headers=user.headers)).json()

    assert again.status_code == 204
    assert [n["message"] for n in read_once["items"]] == ["first"]
    assert read_once["items"][0]["read_at"] is not None
    assert read_twice["items"][0]["read_at"] == read_once["items"][0]["read_at"]
    assert [n["message"] for n in unread["items"]] == ["second"]
    assert unread["total"] == 1
    assert everything["total"] == 2


async def test_marking_another_users_notification_is_404_and_leaves_it_unread(
    client: httpx.AsyncClient, make_user: UserFactory, engine: AsyncEngine
) -> None:
    alice, bob = await make_user(), await make_user()
    note = (await send(client, alice, message="private")).json()

    stolen = await client.post(f"/notifications/{note['id']}/read", headers=bob.headers)
    missing = await client.post("/notifications/999999/read", headers=bob.headers)

    assert stolen.status_code == 404
    assert stolen.json()["code"] == "notification_not_found"
    assert missing.status_code == 404
    [stored] = await stored_notifications(engine, alice.id)
    assert stored.read_at is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"unread": "perhaps"}])
async def test_invalid_list_parameters_are_422(
    client: httpx.AsyncClient, user: SignedInUser, params: dict[str, object]
) -> None:
    response = await client.get("/notifications", params=params, headers=user.headers)
    assert response.status_code == 422


async def test_skip_past_the_end_is_an_empty_page_with_the_total(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    await make_account(user)
    await send(client, user, message="hello")
    body = (await client.get("/notifications?skip=5&limit=1", headers=user.headers)).json()
    assert body == {"items": [], "total": 2, "skip": 5, "limit": 1}


@pytest.mark.parametrize("out_of_range", [0, 2**31])
async def test_ids_outside_the_id_column_are_422(
    client: httpx.AsyncClient, admin: SignedInUser, out_of_range: int
) -> None:
    read = await client.post(f"/notifications/{out_of_range}/read", headers=admin.headers)
    sent = await send(client, admin, message="hi", user_id=out_of_range)

    assert (read.status_code, sent.status_code) == (422, 422)
