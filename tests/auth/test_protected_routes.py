"""Every operation that declares the bearer scheme refuses a caller who fails the check.

The operations come from the app's own OpenAPI document (its route table as served),
not from a list here: a route added later is checked without anyone remembering to.
Each is sent as a request that would succeed for its caller (path ids of objects that
exist, the documented example body), so a 401 can only come from the caller check.
"""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import AccountFactory, EmployeeFactory, ItemFactory, UploadFactory
from tests.files.samples import PNG_BYTES

BEARER = "OAuth2PasswordBearer"
NEW_PASSWORD = "a new password, long enough"
ENDS_THE_CALLERS_TOKENS = frozenset({"POST /api/v1/auth/logout-all"})
"""Operations after which the caller's token is refused: sent last."""


def bearer_operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation that declares the bearer scheme, those
    that end the caller's own tokens last (the control's valid token must last to the end)."""
    found = [
        (method.upper(), path, operation)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if any(BEARER in requirement for requirement in operation.get("security", []))
    ]
    return sorted(found, key=lambda op: f"{op[0]} {op[1]}" in ENDS_THE_CALLERS_TOKENS)


def body_of(operation: dict[str, Any]) -> dict[str, Any]:
    """httpx arguments for the operation's documented body: its example, or a PNG upload."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        media = content["application/json"]
        example = media.get("example")
        if example is None:
            example = next(iter(media["examples"].values()))["value"]
        return {"json": example}
    if "multipart/form-data" in content:
        fields = content["multipart/form-data"]["schema"]["properties"]
        return {"files": dict.fromkeys(fields, ("pixel.png", PNG_BYTES, "image/png"))}
    assert not content, f"no request body for {sorted(content)}"
    return {}


async def statuses(
    client: httpx.AsyncClient,
    operations: list[tuple[str, str, dict[str, Any]]],
    ids: dict[str, int],
    token: str | None,
) -> dict[str, int]:
    """Each operation's status for `token`, by "METHOD path"."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    answered = {}
    for method, path, operation in operations:
        url = "http://test" + path.format(**ids)
        response = await client.request(method, url, headers=headers, **body_of(operation))
        answered[f"{method} {path}"] = response.status_code
    return answered


async def not_refused(
    client: httpx.AsyncClient,
    operations: list[tuple[str, str, dict[str, Any]]],
    ids: dict[str, int],
    token: str | None,
) -> dict[str, int]:
    """The operations that answered `token` with anything but 401."""
    answered = await statuses(client, operations, ids, token)
    return {operation: status for operation, status in answered.items() if status != 401}


async def objects_of(
    client: httpx.AsyncClient,
    owner: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
    make_file: UploadFactory,
    make_item: ItemFactory,
) -> dict[str, int]:
    """One of each thing a path names, all the owner's: a value for every path parameter."""
    account = await make_account(owner)
    employee = await make_employee(owner, account["id"])
    file = await make_file(owner)
    item = await make_item(owner, image_file_id=file["id"])  # also a notification
    notifications = (await client.get("/notifications", headers=owner.headers)).json()
    sessions = (await client.get("/auth/sessions", headers=owner.headers)).json()
    return {
        "account_id": account["id"],
        "employee_id": employee["id"],
        "file_id": file["id"],
        "item_id": item["id"],
        "notification_id": notifications["items"][0]["id"],
        "session_id": sessions["items"][0]["id"],
        "user_id": owner.id,
    }


async def test_every_bearer_operation_refuses_no_token_a_stale_token_and_a_deactivated_user(
    app: FastAPI,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    make_user: UserFactory,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
    make_file: UploadFactory,
    make_item: ItemFactory,
) -> None:
    """An admin who owns every object: each request would succeed but for the check."""
    owner = await make_user(role="admin")
    ids = await objects_of(client, owner, make_account, make_employee, make_file, make_item)
    operations = bearer_operations(app)
    assert operations

    stale = owner.access_token
    changed = await client.post(
        "/users/me/password",
        json={"current_password": owner.password, "new_password": NEW_PASSWORD},
        headers=owner.headers,
    )
    assert changed.status_code == 204, changed.text
    signed_in = await client.post(
        "/auth/login", json={"email": owner.email, "password": NEW_PASSWORD}
    )
    fresh = signed_in.json()["access_token"]
    sessions = await client.get("/auth/sessions", headers={"Authorization": f"Bearer {fresh}"})
    assert sessions.status_code == 200, sessions.text  # the fresh token works until deactivation
    ids["session_id"] = sessions.json()["items"][0]["id"]

    assert await not_refused(client, operations, ids, None) == {}
    assert await not_refused(client, operations, ids, stale) == {}
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": owner.id}
        )
    assert await not_refused(client, operations, ids, fresh) == {}

    # The control: another admin's valid token is refused by none of the requests.
    other = await make_user(role="admin")
    answered = await statuses(client, operations, ids, other.access_token)
    assert [operation for operation, status in answered.items() if status == 401] == []
