"""`DELETE /users/me` and `DELETE /users/{id}`: a user and everything that is theirs go, in
one transaction; their tokens are refused from then on; their address is free again."""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.idempotency.service import IdempotencyService
from backoffice.security import VerifiedTokens
from backoffice.settings import Settings
from tests.conftest import PASSWORD, SignedInUser, UserFactory
from tests.factories import AccountFactory, EmployeeFactory, ItemFactory, UploadFactory
from tests.links import reset, reset_token
from tests.mail_server import Mailbox
from tests.users.conftest import delete_after_next_check

Deleter = Callable[[SignedInUser], Awaitable[httpx.Response]]
Owner = Callable[[SignedInUser], Awaitable[dict[str, Any]]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def delete_me(
    client: httpx.AsyncClient, user: SignedInUser, password: str = PASSWORD
) -> httpx.Response:
    return await client.request(
        "DELETE", "/users/me", json={"password": password}, headers=user.headers
    )


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(sql), params) or 0)


async def user_exists(engine: AsyncEngine, user_id: int) -> bool:
    return await count(engine, "SELECT count(*) FROM users WHERE id = :id", id=user_id) == 1


@pytest.fixture(params=["self", "admin"])
def delete_user(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, make_user: UserFactory
) -> Deleter:
    """Either route's deletion: the user's own with their password, or an admin's."""

    async def by_self(user: SignedInUser) -> httpx.Response:
        return await delete_me(client, user)

    async def by_admin(user: SignedInUser) -> httpx.Response:
        admin = await make_user(role="admin")
        return await client.delete(f"/users/{user.id}", headers=admin.headers)

    return by_self if request.param == "self" else by_admin


@pytest.fixture
def owned_by(
    client: httpx.AsyncClient,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
    make_file: UploadFactory,
) -> Owner:
    """`await owned_by(user)`: one of each thing a user can have, made for `user`, as the
    bind values of `REMAINS`."""

    async def owned(user: SignedInUser) -> dict[str, Any]:
        account = await make_account(user)
        employee = await make_employee(user, account["id"])
        file = await make_file(user)
        item = await client.post(
            "/items",
            json={"name": f"Keyed {user.id}", "price": "1.00", "image_file_id": file["id"]},
            headers={**user.headers, "Idempotency-Key": "k-1"},
        )
        assert item.status_code == 201, item.text  # also a notification and an idempotency key
        failed = await client.post(
            "/auth/login", json={"email": user.email, "password": "wrong-pw"}
        )
        assert failed.status_code == 401  # a login attempt on record
        forgot = await client.post("/auth/password/forgot", json={"email": user.email})
        assert forgot.status_code == 202  # a reset token and its mail (sign-up wrote others)
        return {
            "user_id": user.id,
            "email": user.email,
            "account_id": account["id"],
            "employee_id": employee["id"],
            "file_id": file["id"],
            "item_id": item.json()["id"],
        }

    return owned


REMAINS = {
    "accounts": "SELECT count(*) FROM accounts WHERE id = :account_id",
    "employees": "SELECT count(*) FROM employees WHERE id = :employee_id",
    "items": "SELECT count(*) FROM items WHERE id = :item_id",
    "files": "SELECT count(*) FROM files WHERE id = :file_id",
    "file_contents": "SELECT count(*) FROM file_contents WHERE file_id = :file_id",
    "notifications": "SELECT count(*) FROM notifications WHERE user_id = :user_id",
    "refresh_tokens": "SELECT count(*) FROM refresh_tokens WHERE user_id = :user_id",
    "idempotency_keys": "SELECT count(*) FROM idempotency_keys WHERE user_id = :user_id",
    "login_attempts": "SELECT count(*) FROM login_attempts WHERE email = :email",
    "mails": "SELECT count(*) FROM mails WHERE user_id = :user_id",
    "one_time_tokens": "SELECT count(*) FROM one_time_tokens WHERE user_id = :user_id",
}
"""What of the user's each table holds (`owned`'s ids)."""


async def remains(engine: AsyncEngine, owned: dict[str, Any]) -> dict[str, int]:
    return {table: await count(engine, sql, **owned) for table, sql in REMAINS.items()}


async def test_every_table_that_names_a_user_cascades_and_is_checked_here(
    engine: AsyncEngine,
) -> None:
    """A table added later with a user's id in it fails here until a deletion is shown
    to remove its rows (and its foreign key cascades, as the migration must say)."""
    async with engine.connect() as conn:
        references = (
            await conn.execute(
                text(
                    "SELECT conrelid::regclass::text, confdeltype::text FROM pg_constraint "
                    "WHERE contype = 'f' AND confrelid = 'users'::regclass"
                )
            )
        ).all()
    actions = dict(references)  # a = no action, n = set null, c = cascade
    assert actions
    assert set(actions) <= set(REMAINS)
    assert set(actions.values()) == {"c"}


async def test_delete_me_with_the_right_password_is_204(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    response = await delete_me(client, user)
    assert response.status_code == 204
    assert response.content == b""
    assert not await user_exists(engine, user.id)


async def test_an_admin_deletes_a_user(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser, admin: SignedInUser
) -> None:
    response = await client.delete(f"/users/{user.id}", headers=admin.headers)
    assert response.status_code == 204
    assert not await user_exists(engine, user.id)


@pytest.mark.parametrize("table", REMAINS)
async def test_the_deletion_removes_everything_that_was_the_users(
    engine: AsyncEngine,
    user: SignedInUser,
    owned_by: Owner,
    delete_user: Deleter,
    table: str,
) -> None:
    owned = await owned_by(user)
    assert await count(engine, REMAINS[table], **owned) > 0
    assert (await delete_user(user)).status_code == 204
    assert await count(engine, REMAINS[table], **owned) == 0


async def test_the_deletion_leaves_other_users_things(
    engine: AsyncEngine, make_user: UserFactory, owned_by: Owner, delete_user: Deleter
) -> None:
    doomed, other = await make_user(), await make_user()
    await owned_by(doomed)
    kept = await owned_by(other)
    before = await remains(engine, kept)

    assert (await delete_user(doomed)).status_code == 204
    assert await remains(engine, kept) == before
    assert 0 not in before.values()


async def test_an_item_of_another_user_showing_a_deleted_users_file_loses_its_image(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    make_user: UserFactory,
    make_file: UploadFactory,
    make_item: ItemFactory,
    delete_user: Deleter,
) -> None:
    doomed, other = await make_user(), await make_user()
    file = await make_file(doomed)
    item = await make_item(other)
    # No request can make this (an item's image is its owner's file); data from before
    # that rule, or an admin's repair in SQL, can. The foreign key is `ON DELETE SET NULL`.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE items SET image_file_id = :file WHERE id = :item"),
            {"file": file["id"], "item": item["id"]},
        )

    assert (await delete_user(doomed)).status_code == 204
    shown = await client.get(f"/items/{item['id']}", headers=other.headers)
    assert shown.status_code == 200
    assert shown.json()["image_file_id"] is None


@pytest.mark.parametrize("path", ["/users/me", "/auth/sessions", "/items"])
async def test_an_access_token_that_worked_just_before_the_deletion_is_refused_after(
    client: httpx.AsyncClient, user: SignedInUser, delete_user: Deleter, path: str
) -> None:
    """The app remembers the token as verified (`VerifiedTokens`): only the caller check,
    which finds no user, refuses it, on a read that carries the check and on one that
    runs it first alike."""
    assert (await client.get(path, headers=user.headers)).status_code == 200

    assert (await delete_user(user)).status_code == 204
    refused = await client.get(path, headers=user.headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"


async def test_the_verified_token_cache_still_holds_the_deleted_users_token(
    client: httpx.AsyncClient, app: FastAPI, user: SignedInUser, delete_user: Deleter
) -> None:
    """The control of the test above: its 401 is the caller check's, not a cache miss."""
    await client.get("/users/me", headers=user.headers)
    assert (await delete_user(user)).status_code == 204
    tokens: VerifiedTokens = app.state.verified_tokens
    assert tokens.claims(app.state.settings, user.access_token).user_id == user.id


async def test_a_deleted_users_refresh_token_is_refused(
    client: httpx.AsyncClient, user: SignedInUser, delete_user: Deleter
) -> None:
    assert (await delete_user(user)).status_code == 204
    refreshed = await client.post("/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "invalid_refresh_token"


async def test_a_deleted_user_cannot_sign_in(
    client: httpx.AsyncClient, user: SignedInUser, delete_user: Deleter
) -> None:
    assert (await delete_user(user)).status_code == 204
    login = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 401
    assert login.json()["code"] == "invalid_credentials"


async def test_the_address_of_a_deleted_user_can_register_again(
    client: httpx.AsyncClient, user: SignedInUser, delete_user: Deleter
) -> None:
    assert (await delete_user(user)).status_code == 204
    again = await client.post(
        "/auth/register",
        json={"email": user.email, "password": "another password", "full_name": "New"},
    )
    assert again.status_code == 201
    assert again.json()["id"] != user.id
    login = await client.post(
        "/auth/login", json={"email": user.email, "password": "another password"}
    )
    assert login.status_code == 200


async def test_the_old_token_is_no_token_of_the_new_user_of_the_address(
    client: httpx.AsyncClient, user: SignedInUser, delete_user: Deleter
) -> None:
    assert (await delete_user(user)).status_code == 204
    await client.post(
        "/auth/register",
        json={"email": user.email, "password": "another password", "full_name": "New"},
    )
    assert (await client.get("/users/me", headers=user.headers)).status_code == 401


async def test_a_reset_link_mailed_before_the_deletion_is_dead_after_it(
    client: httpx.AsyncClient, mailbox: Mailbox, user: SignedInUser, delete_user: Deleter
) -> None:
    """Also for a new user of the address: the link was the deleted user's."""
    token = await reset_token(client, mailbox, user.email)
    assert (await delete_user(user)).status_code == 204
    await client.post(
        "/auth/register",
        json={"email": user.email, "password": "another password", "full_name": "New"},
    )
    refused = await reset(client, token)
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_token"


async def test_signing_up_and_deleting_in_a_loop_mails_an_address_no_more_than_its_limit(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, make_user: UserFactory
) -> None:
    """The deleted users' links still count toward the address's hourly limit: without
    that, each sign-up after a deletion mailed the address a new verification link."""
    links = []
    for _ in range(settings.account_mails_per_hour + 1):
        user = await make_user(email="someone.else@example.com")
        sql = "SELECT count(*) FROM one_time_tokens WHERE user_id = :id"
        links.append(await count(engine, sql, id=user.id))
        assert (await delete_me(client, user)).status_code == 204
    assert links == [1] * settings.account_mails_per_hour + [0]


async def test_a_wrong_password_is_401_and_deletes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    response = await delete_me(client, user, "not my password")
    assert response.status_code == 401
    assert response.json()["code"] == "wrong_password"
    assert await user_exists(engine, user.id)
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200


async def test_wrong_passwords_count_toward_the_sign_in_throttle(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    for _ in range(5):  # LOGIN_MAX_FAILURES
        assert (await delete_me(client, user, "not my password")).status_code == 401
    login = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 429
    assert login.json()["code"] == "too_many_requests"


async def test_failed_sign_ins_throttle_the_deletion_too(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    for _ in range(5):
        await client.post("/auth/login", json={"email": user.email, "password": "wrong-pw"})
    response = await delete_me(client, user)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert await user_exists(engine, user.id)


async def test_deleting_yourself_twice_is_401(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    assert (await delete_me(client, user)).status_code == 204
    again = await delete_me(client, user)
    assert again.status_code == 401
    assert again.json()["code"] == "not_authenticated"


async def test_two_deletions_at_once_delete_once_and_refuse_the_other(
    client: httpx.AsyncClient,
    user: SignedInUser,
    held_check: tuple[threading.Event, threading.Event],
) -> None:
    """Both pass the caller check and the password; the one held in bcrypt finds the
    user gone when it locks the row."""
    entered, release = held_check
    first = asyncio.create_task(delete_me(client, user))
    assert await asyncio.to_thread(entered.wait, 30)
    second = await delete_me(client, user)
    release.set()
    assert (second.status_code, (await first).status_code) == (204, 401)


CHANGES = {
    "password change": (
        "POST",
        "/users/me/password",
        {"current_password": PASSWORD, "new_password": "a changed password"},
    ),
    "deactivation": ("PATCH", "/users/{id}", {"is_active": False}),
    "promotion": ("PATCH", "/users/{id}", {"role": "admin"}),
}
"""A change to the user that commits while their deletion waits for bcrypt."""


@pytest.mark.parametrize(
    ("change", "status"),
    [("password change", 401), ("deactivation", 401), ("promotion", 409)],
)
async def test_a_change_to_the_user_during_their_deletion_wins(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    admin: SignedInUser,
    held_check: tuple[threading.Event, threading.Event],
    change: str,
    status: int,
) -> None:
    """The deletion locks the row and finds another password, an inactive user or an
    admin (who is deleted by another admin only): nothing is deleted."""
    entered, release = held_check
    method, path, body = CHANGES[change]
    headers = user.headers if path == "/users/me/password" else admin.headers
    deletion = asyncio.create_task(delete_me(client, user))
    assert await asyncio.to_thread(entered.wait, 30)
    changed = await client.request(method, path.format(id=user.id), json=body, headers=headers)
    release.set()
    assert changed.status_code in {200, 204}
    assert (await deletion).status_code == status
    assert await user_exists(engine, user.id)


async def test_an_admin_cannot_delete_themself_with_delete_me(
    client: httpx.AsyncClient, engine: AsyncEngine, admin: SignedInUser
) -> None:
    response = await delete_me(client, admin)
    assert response.status_code == 409
    assert response.json()["code"] == "cannot_change_self"
    assert await user_exists(engine, admin.id)


async def test_an_admin_cannot_delete_themself_by_id(
    client: httpx.AsyncClient, engine: AsyncEngine, admin: SignedInUser
) -> None:
    response = await client.delete(f"/users/{admin.id}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "cannot_change_self"
    assert await user_exists(engine, admin.id)


async def test_an_admin_deletes_another_admin(
    client: httpx.AsyncClient, engine: AsyncEngine, admin: SignedInUser, make_user: UserFactory
) -> None:
    other = await make_user(role="admin")
    response = await client.delete(f"/users/{other.id}", headers=admin.headers)
    assert response.status_code == 204
    assert (await client.get("/users", headers=other.headers)).status_code == 401


async def test_an_admin_deleting_an_unknown_user_is_404(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    response = await client.delete("/users/999999", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


async def test_an_admin_deleting_a_deleted_user_is_404(
    client: httpx.AsyncClient, admin: SignedInUser, user: SignedInUser
) -> None:
    assert (await client.delete(f"/users/{user.id}", headers=admin.headers)).status_code == 204
    again = await client.delete(f"/users/{user.id}", headers=admin.headers)
    assert again.status_code == 404


@pytest.mark.parametrize("user_id", ["abc", "0", "-1", "2147483648"])
async def test_an_admin_deleting_a_malformed_id_is_422(
    client: httpx.AsyncClient, admin: SignedInUser, user_id: str
) -> None:
    response = await client.delete(f"/users/{user_id}", headers=admin.headers)
    assert response.status_code == 422


async def test_delete_by_id_without_a_token_is_401(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser
) -> None:
    response = await client.delete(f"/users/{user.id}")
    assert response.status_code == 401
    assert await user_exists(engine, user.id)


async def test_a_user_deleting_another_user_is_403_and_deletes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, user: SignedInUser, make_user: UserFactory
) -> None:
    other = await make_user()
    response = await client.delete(f"/users/{other.id}", headers=user.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "admin_required"
    assert await user_exists(engine, other.id)


async def test_an_admin_whose_token_was_deleted_is_401(
    client: httpx.AsyncClient, admin: SignedInUser, make_user: UserFactory
) -> None:
    other, victim = await make_user(role="admin"), await make_user()
    await client.delete(f"/users/{admin.id}", headers=other.headers)
    response = await client.delete(f"/users/{victim.id}", headers=admin.headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (None, 422),
        ({}, 422),
        ({"password": PASSWORD, "confirm": True}, 422),
        ({"password": "x" * 1025}, 422),
        ({"password": 12345678}, 422),
    ],
)
async def test_delete_me_refuses_a_malformed_body(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    response = await client.request("DELETE", "/users/me", json=body, headers=user.headers)
    assert response.status_code == status
    assert await user_exists(engine, user.id)


async def test_delete_me_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.request("DELETE", "/users/me", json={"password": PASSWORD})
    assert response.status_code == 401


async def test_an_idempotent_create_by_a_user_deleted_after_its_caller_check_is_401(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key's claim then names a user who is gone (a foreign-key violation): refused
    as the deleted user's token is, not a 500."""
    real_caller = IdempotencyService.caller

    async def caller_then_deleted(self: IdempotencyService, *args: Any) -> int | None:
        user_id = await real_caller(self, *args)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        return user_id

    monkeypatch.setattr(IdempotencyService, "caller", caller_then_deleted)
    response = await client.post(
        "/items",
        json={"name": "Late", "price": "1.00"},
        headers={**user.headers, "Idempotency-Key": "k-late"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users/me", {"password": PASSWORD}),
        ("/users/me/password", {"current_password": PASSWORD, "new_password": "changed pw!"}),
    ],
)
async def test_a_password_check_of_a_user_deleted_after_the_caller_check_is_401(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict[str, str],
) -> None:
    """The caller's own row is gone when the route reads its hash: the caller is refused,
    not told that a user was not found (404)."""
    delete_after_next_check(monkeypatch, engine, user)
    method = "DELETE" if path == "/users/me" else "POST"
    response = await client.request(method, path, json=body, headers=user.headers)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
