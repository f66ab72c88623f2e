import httpx
import pytest

from tests.conftest import SignedInUser, UserFactory
from tests.factories import ItemFactory


async def test_create_returns_the_item(client: httpx.AsyncClient, user: SignedInUser) -> None:
    body = {"name": "Lamp", "description": "A desk lamp", "category": "home", "price": "12.50"}
    response = await client.post("/items", json=body, headers=user.headers)
    assert response.status_code == 201
    item = response.json()
    assert item["name"] == "Lamp"
    assert item["description"] == "A desk lamp"
    assert item["category"] == "home"
    assert item["price"] == "12.50"
    assert item["tax"] is None
    assert item["price_with_tax"] == "12.50"
    assert item["image_file_id"] is None
    assert item["owner_id"] == user.id
    assert item["created_at"].endswith(("Z", "+00:00"))
    assert isinstance(item["id"], int)


async def test_any_signed_in_user_reads_an_item(
    client: httpx.AsyncClient, make_user: UserFactory, make_item: ItemFactory
) -> None:
    owner, reader = await make_user(), await make_user()
    item = await make_item(owner, name="Chair")
    response = await client.get(f"/items/{item['id']}", headers=reader.headers)
    assert response.status_code == 200
    assert response.json() == item


async def test_reading_without_a_token_is_401(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user)
    assert (await client.get(f"/items/{item['id']}")).status_code == 401
    assert (await client.get("/items")).status_code == 401
    assert (await client.post("/items", json={"name": "x", "price": 1})).status_code == 401


async def test_missing_item_is_404(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.get("/items/999999", headers=user.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "item_not_found"


async def test_out_of_range_id_is_422(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.get(f"/items/{2**31}", headers=user.headers)
    assert response.status_code == 422


async def test_duplicate_name_ignoring_case_is_409(
    client: httpx.AsyncClient, make_user: UserFactory, make_item: ItemFactory
) -> None:
    await make_item(await make_user(), name="Blue Mug")
    other = await make_user()
    response = await client.post(
        "/items", json={"name": "bLUE mug", "price": 3}, headers=other.headers
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Item already exists"
    assert response.json()["code"] == "item_exists"


async def test_renaming_onto_an_existing_name_is_409(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    await make_item(user, name="Taken")
    item = await make_item(user, name="Free")
    response = await client.patch(
        f"/items/{item['id']}", json={"name": "TAKEN"}, headers=user.headers
    )
    assert response.status_code == 409
    still = await client.get(f"/items/{item['id']}", headers=user.headers)
    assert still.json()["name"] == "Free"


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user, name="Pen", description="blue", category="office", tax="1")
    response = await client.patch(
        f"/items/{item['id']}", json={"price": "2.5", "description": None}, headers=user.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["price"] == "2.50"
    assert body["description"] is None
    assert body["category"] == "office"
    assert body["tax"] == "1.00"
    assert body["price_with_tax"] == "3.50"
    assert body["updated_at"] >= item["updated_at"]


@pytest.mark.parametrize("field", ["name", "price"])
async def test_patch_cannot_remove_a_required_field(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory, field: str
) -> None:
    item = await make_item(user)
    response = await client.patch(f"/items/{item['id']}", json={field: None}, headers=user.headers)
    assert response.status_code == 422


async def test_put_replaces_the_whole_item(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user, name="Old", description="d", category="c", tax="1.00")
    response = await client.put(
        f"/items/{item['id']}", json={"name": "New", "price": 7}, headers=user.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["price"], body["description"], body["category"], body["tax"]) == (
        "New",
        "7.00",
        None,
        None,
        None,
    )


async def test_put_needs_every_required_field(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user)
    response = await client.put(f"/items/{item['id']}", json={"name": "x"}, headers=user.headers)
    assert response.status_code == 422


async def test_delete_removes_the_item(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user)
    response = await client.delete(f"/items/{item['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/items/{item['id']}", headers=user.headers)).status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"price": 1}), ("PUT", {"name": "n", "price": 1}), ("DELETE", None)],
)
async def test_another_users_item_is_404_for_writes(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_item: ItemFactory,
    method: str,
    body: dict[str, object] | None,
) -> None:
    owner, stranger = await make_user(), await make_user()
    item = await make_item(owner, price="5")
    response = await client.request(
        method, f"/items/{item['id']}", json=body, headers=stranger.headers
    )
    assert response.status_code == 404
    unchanged = await client.get(f"/items/{item['id']}", headers=owner.headers)
    assert unchanged.json() == item


async def test_admin_may_change_and_delete_anyones_item(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user)
    patched = await client.patch(f"/items/{item['id']}", json={"price": 9}, headers=admin.headers)
    assert patched.status_code == 200
    assert patched.json()["owner_id"] == user.id
    deleted = await client.delete(f"/items/{item['id']}", headers=admin.headers)
    assert deleted.status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "price": 1},
        {"name": "   ", "price": 1},
        {"name": "x" * 201, "price": 1},
        {"name": " " + "x" * 200, "price": 1},
        {"name": "ok", "price": 1, "category": "\t" + "c" * 100},
        {"name": " \u3000 ", "price": 1},
        {"name": "a\x00b", "price": 1},
        {"name": "ok", "price": 1, "description": "nul\x00"},
        {"name": "ok", "price": 1, "owner_id": 5},
        {"name": "ok", "price": 1, "category": "c" * 101},
        {"name": "ok", "price": 1, "image_file_id": 0},
        {"price": 1},
    ],
)
async def test_invalid_bodies_are_422(
    client: httpx.AsyncClient, user: SignedInUser, body: dict[str, object]
) -> None:
    response = await client.post("/items", json=body, headers=user.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_malformed_json_is_400(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post(
        "/items",
        content=b'{"name": ',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


async def test_names_are_stored_trimmed(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post(
        "/items", json={"name": "  Desk  ", "price": 1}, headers=user.headers
    )
    assert response.json()["name"] == "Desk"


@pytest.mark.parametrize("path", ["/items/1.0", "/items/%201", "/items/+1"])
async def test_an_id_that_only_lax_parsing_reads_is_422(
    client: httpx.AsyncClient, user: SignedInUser, path: str
) -> None:
    created = await client.post(
        "/items", json={"name": "One", "price": "1.00"}, headers=user.headers
    )
    assert created.json()["id"] == 1
    assert (await client.get(path, headers=user.headers)).status_code == 422
