"""Employees through HTTP, nested under their account."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import AccountFactory, EmployeeFactory
from tests.items.races import commit_while_blocked


def employees_path(account_id: int, employee_id: int | None = None) -> str:
    base = f"/accounts/{account_id}/employees"
    return base if employee_id is None else f"{base}/{employee_id}"


async def list_names(
    client: httpx.AsyncClient, owner: SignedInUser, account_id: int, **params: Any
) -> list[str]:
    response = await client.get(employees_path(account_id), params=params, headers=owner.headers)
    assert response.status_code == 200, response.text
    return [e["full_name"] for e in response.json()["items"]]


async def test_add_employee_stores_email_lower_case(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user)
    response = await client.post(
        employees_path(account["id"]),
        json={
            "full_name": "Ada Lovelace",
            "email": "Ada@Example.COM",
            "title": "Engineer",
            "department": "R&D",
            "hired_on": "2024-03-01",
        },
        headers=user.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["account_id"] == account["id"]
    assert body["is_active"] is True
    assert body["hired_on"] == "2024-03-01"
    fetched = await client.get(employees_path(account["id"], body["id"]), headers=user.headers)
    assert fetched.json() == body


async def test_duplicate_email_in_one_account_is_409_whatever_the_case(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    await make_employee(user, account["id"], email="same@example.com")

    response = await client.post(
        employees_path(account["id"]),
        json={"full_name": "Twin", "email": "SAME@example.com"},
        headers=user.headers,
    )

    assert response.status_code == 409
    assert response.json()["code"] == "employee_email_taken"
    assert await list_names(client, user, account["id"]) != ["Twin"]


async def test_same_email_is_allowed_in_two_accounts(
    user: SignedInUser, make_account: AccountFactory, make_employee: EmployeeFactory
) -> None:
    first = await make_account(user)
    second = await make_account(user)
    one = await make_employee(user, first["id"], email="shared@example.com")
    two = await make_employee(user, second["id"], email="shared@example.com")
    assert one["email"] == two["email"] == "shared@example.com"


async def test_changing_email_to_a_colleagues_is_409(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    await make_employee(user, account["id"], email="taken@example.com")
    other = await make_employee(user, account["id"], email="free@example.com")

    response = await client.patch(
        employees_path(account["id"], other["id"]),
        json={"email": "Taken@example.com"},
        headers=user.headers,
    )

    assert response.status_code == 409
    again = await client.get(employees_path(account["id"], other["id"]), headers=user.headers)
    assert again.json()["email"] == "free@example.com"


async def test_other_users_employees_are_404_for_every_route_and_unchanged(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    alice, bob = await make_user(), await make_user()
    account = await make_account(alice)
    employee = await make_employee(alice, account["id"], full_name="Alice's")
    bobs_account = await make_account(bob)
    collection = employees_path(account["id"])
    item = employees_path(account["id"], employee["id"])
    new = {"full_name": "Mole", "email": "mole@example.com"}

    responses = [
        await client.post(collection, json=new, headers=bob.headers),
        await client.get(collection, headers=bob.headers),
        await client.get(item, headers=bob.headers),
        await client.patch(item, json={"full_name": "Hacked"}, headers=bob.headers),
        await client.delete(item, headers=bob.headers),
        # Alice's employee through Bob's own account is not found either.
        await client.get(employees_path(bobs_account["id"], employee["id"]), headers=bob.headers),
        await client.delete(
            employees_path(bobs_account["id"], employee["id"]), headers=bob.headers
        ),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    listed = (await client.get(collection, headers=alice.headers)).json()
    assert listed["items"] == [employee]
    assert listed["total"] == 1


async def test_employee_of_another_account_of_the_same_owner_is_404(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    first = await make_account(user)
    second = await make_account(user)
    employee = await make_employee(user, first["id"])
    response = await client.patch(
        employees_path(second["id"], employee["id"]), json={"title": "x"}, headers=user.headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "employee_not_found"


async def test_admin_manages_anyones_employees(
    client: httpx.AsyncClient,
    user: SignedInUser,
    admin: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    created = await make_employee(admin, account["id"], full_name="By Admin")
    path = employees_path(account["id"], created["id"])

    assert (await client.get(path, headers=admin.headers)).status_code == 200
    assert (await client.delete(path, headers=admin.headers)).status_code == 204
    assert await list_names(client, user, account["id"]) == []


async def test_patch_changes_only_the_fields_sent_and_clears_nulls(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    employee = await make_employee(
        user, account["id"], title="Lead", department="Ops", hired_on="2020-01-01"
    )
    path = employees_path(account["id"], employee["id"])

    response = await client.patch(
        path, json={"title": None, "is_active": False}, headers=user.headers
    )
    empty = await client.patch(path, json={}, headers=user.headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["is_active"]) == (None, False)
    assert (body["department"], body["hired_on"]) == ("Ops", "2020-01-01")
    assert empty.json() == body


@pytest.mark.parametrize(
    "body",
    [
        {"full_name": None},
        {"email": None},
        {"is_active": None},
        {"email": "not-an-email"},
        {"hired_on": "yesterday"},
        {"account_id": 2},
    ],
)
async def test_invalid_patches_are_422(
    client: httpx.AsyncClient,
    user: SignedInUser,
    body: dict[str, Any],
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    employee = await make_employee(user, account["id"])
    response = await client.patch(
        employees_path(account["id"], employee["id"]), json=body, headers=user.headers
    )
    assert response.status_code == 422


async def test_patch_or_get_of_a_missing_employee_is_404(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user)
    path = employees_path(account["id"], 424242)
    assert (await client.get(path, headers=user.headers)).status_code == 404
    patched = await client.patch(path, json={"title": "x"}, headers=user.headers)
    assert patched.status_code == 404
    assert (await client.patch(path, json={}, headers=user.headers)).status_code == 404


async def test_deleted_employee_is_gone(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    account = await make_account(user)
    employee = await make_employee(user, account["id"])
    path = employees_path(account["id"], employee["id"])

    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 404


@pytest.fixture
async def staff(
    user: SignedInUser, make_account: AccountFactory, make_employee: EmployeeFactory
) -> int:
    """An account with five employees in varied departments, dates and states."""
    account = await make_account(user)
    rows = [
        ("Carol", "carol@corp.example", "Sales", "2021-05-01", True),
        ("alan", "alan@corp.example", "Ops", None, True),
        ("Bob", "bob@other.example", "Sales", "2019-01-01", False),
        ("Dave 100%", "dave@corp.example", None, "2021-05-01", True),
        ("Eve", "eve_x@corp.example", "Ops", "2023-07-15", False),
    ]
    for full_name, email, department, hired_on, is_active in rows:
        await make_employee(
            user,
            account["id"],
            full_name=full_name,
            email=email,
            department=department,
            hired_on=hired_on,
            is_active=is_active,
        )
    return int(account["id"])


async def test_filters_narrow_the_list_and_the_total(
    client: httpx.AsyncClient, user: SignedInUser, staff: int
) -> None:
    assert await list_names(client, user, staff, q="OTHER.example") == ["Bob"]
    assert await list_names(client, user, staff, q="ca") == ["Carol"]
    assert await list_names(client, user, staff, q="100%") == ["Dave 100%"]
    assert await list_names(client, user, staff, q="e_x") == ["Eve"]
    assert await list_names(client, user, staff, department="Sales") == ["Bob", "Carol"]
    assert await list_names(client, user, staff, is_active="false") == ["Bob", "Eve"]
    assert await list_names(client, user, staff, department="Ops", is_active="true") == ["alan"]
    response = await client.get(
        employees_path(staff), params={"department": "Sales", "limit": 1}, headers=user.headers
    )
    assert response.json()["total"] == 2


async def test_sorts_are_stable_and_missing_hire_dates_come_last(
    client: httpx.AsyncClient, user: SignedInUser, staff: int
) -> None:
    by_name = await list_names(client, user, staff)
    assert by_name == sorted(by_name)
    assert await list_names(client, user, staff, sort="full_name", order="desc") == list(
        reversed(by_name)
    )
    # Carol and Dave share a hire date: ties go by id (Carol was added first).
    assert await list_names(client, user, staff, sort="hired_on") == [
        "Bob",
        "Carol",
        "Dave 100%",
        "Eve",
        "alan",
    ]
    assert await list_names(client, user, staff, sort="hired_on", order="desc") == [
        "Eve",
        "Dave 100%",
        "Carol",
        "Bob",
        "alan",
    ]
    created = await list_names(client, user, staff, sort="created_at")
    assert created == ["Carol", "alan", "Bob", "Dave 100%", "Eve"]
    assert await list_names(client, user, staff, sort="created_at", order="desc") == list(
        reversed(created)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "email"},
        {"sort": "id; drop table employees"},
        {"order": "up"},
        {"is_active": "maybe"},
        {"limit": 0},
        {"limit": 101},
        {"skip": -1},
        {"q": "x" * 201},
        {"department": "a\x00"},
    ],
)
async def test_invalid_list_parameters_are_422(
    client: httpx.AsyncClient, user: SignedInUser, staff: int, params: dict[str, Any]
) -> None:
    response = await client.get(employees_path(staff), params=params, headers=user.headers)
    assert response.status_code == 422


async def test_pages_of_employees_and_skip_past_the_end(
    client: httpx.AsyncClient, user: SignedInUser, staff: int
) -> None:
    second = (
        await client.get(
            employees_path(staff), params={"limit": 2, "skip": 2}, headers=user.headers
        )
    ).json()
    past = (
        await client.get(employees_path(staff), params={"skip": 10}, headers=user.headers)
    ).json()

    assert [e["full_name"] for e in second["items"]] == ["Dave 100%", "Eve"]
    assert (second["total"], second["skip"], second["limit"]) == (5, 2, 2)
    assert past == {"items": [], "total": 5, "skip": 10, "limit": 20}


async def test_adding_an_employee_to_an_account_deleted_at_the_same_moment_is_404(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine, make_account: AccountFactory
) -> None:
    """The account was there when the request checked it, and gone when the row went in."""
    account = await make_account(user)

    response = await commit_while_blocked(
        engine,
        "DELETE FROM accounts WHERE id = :id",
        {"id": account["id"]},
        client.post(
            employees_path(account["id"]),
            json={"full_name": "Late Comer", "email": "late@example.com"},
            headers=user.headers,
        ),
    )

    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM employees")) == 0
        assert await conn.scalar(text("SELECT count(*) FROM notifications")) == 1  # the account's


@pytest.mark.parametrize("employee_id", [0, 2**31])
async def test_an_employee_id_outside_the_id_column_is_422(
    client: httpx.AsyncClient, user: SignedInUser, employee_id: int, make_account: AccountFactory
) -> None:
    account = await make_account(user)
    path = employees_path(account["id"], employee_id)
    assert (await client.get(path, headers=user.headers)).status_code == 422
    assert (await client.patch(path, json={}, headers=user.headers)).status_code == 422
    assert (await client.delete(path, headers=user.headers)).status_code == 422
