"""Accounts through HTTP: owned by their creator, invisible (404) to everyone else."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import AccountFactory, EmployeeFactory


async def test_create_account_makes_the_caller_its_owner(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/accounts", json={"name": "Acme", "description": "Rockets"}, headers=user.headers
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Acme"
    assert body["description"] == "Rockets"
    assert body["owner_id"] == user.id
    assert body["created_at"].endswith(("+00:00", "Z"))
    assert set(body) == {"id", "name", "description", "owner_id", "created_at", "updated_at"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "nul\x00name"},
        {"name": "Acme", "owner_id": 1},
        {"name": "Acme", "description": "d" * 2001},
        {"name": None},
    ],
)
async def test_invalid_account_bodies_are_422(
    client: httpx.AsyncClient, user: SignedInUser, body: dict[str, object]
) -> None:
    response = await client.post("/accounts", json=body, headers=user.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_accounts_require_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/accounts")).status_code == 401
    assert (await client.post("/accounts", json={"name": "x"})).status_code == 401
    assert (await client.get("/accounts/1")).status_code == 401


async def test_list_shows_only_my_accounts_by_name(
    client: httpx.AsyncClient, make_user: UserFactory, make_account: AccountFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    await make_account(alice, "Zeta")
    await make_account(alice, "Alpha")
    await make_account(bob, "Bob's")

    body = (await client.get("/accounts", headers=alice.headers)).json()

    assert [a["name"] for a in body["items"]] == ["Alpha", "Zeta"]
    assert body["total"] == 2
    assert (body["skip"], body["limit"]) == (0, 20)


async def test_admin_lists_every_account(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, make_account: AccountFactory
) -> None:
    await make_account(user, "Users")
    await make_account(admin, "Admins")

    body = (await client.get("/accounts", headers=admin.headers)).json()

    assert {a["name"] for a in body["items"]} == {"Users", "Admins"}


async def test_search_by_name_is_case_insensitive_and_wildcards_are_literal(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    for name in ("Acme 100%", "Acme 1000", "Globex", "under_score", "underXscore"):
        await make_account(user, name)

    async def names(q: str) -> list[str]:
        response = await client.get("/accounts", params={"q": q}, headers=user.headers)
        assert response.status_code == 200
        return [a["name"] for a in response.json()["items"]]

    assert await names("ACME") == ["Acme 100%", "Acme 1000"]
    assert await names("100%") == ["Acme 100%"]
    assert await names("r_s") == ["under_score"]
    assert await names("nothing") == []


async def test_search_with_nul_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.get("/accounts", params={"q": "a\x00"}, headers=user.headers)
    assert response.status_code == 422


async def test_unknown_list_parameter_is_ignored(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    """Only `GET /items` refuses unknown parameters; the other lists never did."""
    response = await client.get("/accounts", params={"colour": "red"}, headers=user.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"skip": -1}])
async def test_page_bounds_are_422(
    client: httpx.AsyncClient, user: SignedInUser, params: dict[str, int]
) -> None:
    response = await client.get("/accounts", params=params, headers=user.headers)
    assert response.status_code == 422


async def test_pages_split_the_list_and_skip_past_the_end_is_empty(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    for n in range(5):
        await make_account(user, f"Account {n}")

    first = (await client.get("/accounts?limit=2", headers=user.headers)).json()
    third = (await client.get("/accounts?limit=2&skip=4", headers=user.headers)).json()
    past = (await client.get("/accounts?skip=50", headers=user.headers)).json()

    assert [a["name"] for a in first["items"]] == ["Account 0", "Account 1"]
    assert [a["name"] for a in third["items"]] == ["Account 4"]
    assert past == {"items": [], "total": 5, "skip": 50, "limit": 20}


async def test_owner_reads_their_account(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user, "Mine")
    response = await client.get(f"/accounts/{account['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == account


async def test_other_users_account_is_404_and_unchanged(
    client: httpx.AsyncClient, make_user: UserFactory, make_account: AccountFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    account = await make_account(alice, "Alice's", description="private")
    path = f"/accounts/{account['id']}"

    responses = [
        await client.get(path, headers=bob.headers),
        await client.patch(path, json={"name": "Stolen"}, headers=bob.headers),
        await client.delete(path, headers=bob.headers),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json()["code"] == "account_not_found"
    assert (await client.get(path, headers=alice.headers)).json() == account
    assert (await client.get("/accounts", headers=bob.headers)).json()["total"] == 0


async def test_unknown_account_is_404_like_another_users(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.get("/accounts/999999", headers=user.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"


@pytest.mark.parametrize("account_id", ["0", "2147483648", "abc"])
async def test_out_of_range_account_ids_are_422(
    client: httpx.AsyncClient, user: SignedInUser, account_id: str
) -> None:
    response = await client.get(f"/accounts/{account_id}", headers=user.headers)
    assert response.status_code == 422


async def test_admin_reads_changes_and_deletes_any_account(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user, "User's")
    path = f"/accounts/{account['id']}"

    assert (await client.get(path, headers=admin.headers)).status_code == 200
    patched = await client.patch(path, json={"name": "Renamed"}, headers=admin.headers)
    assert patched.status_code == 200
    assert patched.json()["owner_id"] == user.id
    assert (await client.delete(path, headers=admin.headers)).status_code == 204
    assert (await client.get(path, headers=user.headers)).status_code == 404


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user, "Before", description="kept")
    path = f"/accounts/{account['id']}"

    renamed = (await client.patch(path, json={"name": "After"}, headers=user.headers)).json()
    cleared = (await client.patch(path, json={"description": None}, headers=user.headers)).json()
    unchanged = await client.patch(path, json={}, headers=user.headers)

    assert (renamed["name"], renamed["description"]) == ("After", "kept")
    assert renamed["updated_at"] >= account["updated_at"]
    assert (cleared["name"], cleared["description"]) == ("After", None)
    assert unchanged.status_code == 200
    assert unchanged.json() == cleared


@pytest.mark.parametrize("body", [{"name": None}, {"name": ""}, {"owner_id": 5}])
async def test_invalid_patches_are_422(
    client: httpx.AsyncClient,
    user: SignedInUser,
    body: dict[str, object],
    make_account: AccountFactory,
) -> None:
    account = await make_account(user)
    response = await client.patch(f"/accounts/{account['id']}", json=body, headers=user.headers)
    assert response.status_code == 422


async def test_deleting_an_account_deletes_its_employees(
    client: httpx.AsyncClient,
    user: SignedInUser,
    engine: AsyncEngine,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> None:
    doomed = await make_account(user, "Doomed")
    kept = await make_account(user, "Kept")
    await make_employee(user, doomed["id"])
    await make_employee(user, doomed["id"])
    survivor = await make_employee(user, kept["id"])

    response = await client.delete(f"/accounts/{doomed['id']}", headers=user.headers)

    assert response.status_code == 204
    assert (await client.get(f"/accounts/{doomed['id']}", headers=user.headers)).status_code == 404
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, account_id FROM employees"))).all()
    assert [tuple(row) for row in rows] == [(survivor["id"], kept["id"])]


async def test_deleting_twice_is_404(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory
) -> None:
    account = await make_account(user)
    path = f"/accounts/{account['id']}"
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.delete(path, headers=user.headers)).status_code == 404
