"""An item's `image_file_id`: a file of the item's owner, shown to every reader of the item."""

import httpx
import pytest

from tests.conftest import SignedInUser, UserFactory
from tests.factories import ItemFactory, UploadFactory
from tests.files.samples import PNG_BYTES


async def test_an_item_may_show_its_owners_file(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, make_item: ItemFactory
) -> None:
    image = await make_file(user)
    item = await make_item(user, image_file_id=image["id"])
    assert item["image_file_id"] == image["id"]


@pytest.mark.parametrize("whose", ["stranger", "missing"])
async def test_an_image_that_is_not_the_owners_is_422(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_file: UploadFactory,
    make_item: ItemFactory,
    whose: str,
) -> None:
    owner, stranger = await make_user(), await make_user()
    file_id = (await make_file(stranger))["id"] + (1000 if whose == "missing" else 0)
    created = await client.post(
        "/items", json={"name": "A", "price": 1, "image_file_id": file_id}, headers=owner.headers
    )
    assert created.status_code == 422
    assert created.json()["detail"][0]["loc"] == ["body", "image_file_id"]
    item = await make_item(owner)
    patched = await client.patch(
        f"/items/{item['id']}", json={"image_file_id": file_id}, headers=owner.headers
    )
    assert patched.status_code == 422


async def test_an_admin_editing_an_item_must_use_the_owners_file(
    client: httpx.AsyncClient,
    user: SignedInUser,
    admin: SignedInUser,
    make_file: UploadFactory,
    make_item: ItemFactory,
) -> None:
    item = await make_item(user)
    admins_file = await make_file(admin)
    refused = await client.patch(
        f"/items/{item['id']}", json={"image_file_id": admins_file["id"]}, headers=admin.headers
    )
    assert refused.status_code == 422
    owners_file = await make_file(user)
    accepted = await client.patch(
        f"/items/{item['id']}", json={"image_file_id": owners_file["id"]}, headers=admin.headers
    )
    assert accepted.status_code == 200
    assert accepted.json()["image_file_id"] == owners_file["id"]


async def test_any_reader_of_the_item_gets_its_image(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_file: UploadFactory,
    make_item: ItemFactory,
) -> None:
    owner, reader = await make_user(), await make_user()
    image = await make_file(owner, filename="photo.png")
    item = await make_item(owner, image_file_id=image["id"])
    response = await client.get(f"/items/{item['id']}/image", headers=reader.headers)
    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{image["sha256"]}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="photo.png"')
    cached = await client.get(
        f"/items/{item['id']}/image",
        headers={**reader.headers, "If-None-Match": response.headers["etag"]},
    )
    assert cached.status_code == 304
    # The file itself stays private: only the item makes it visible.
    private = await client.get(f"/files/{image['id']}/content", headers=reader.headers)
    assert private.status_code == 404


async def test_an_item_without_an_image_is_404(
    client: httpx.AsyncClient, user: SignedInUser, make_item: ItemFactory
) -> None:
    item = await make_item(user)
    response = await client.get(f"/items/{item['id']}/image", headers=user.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "item_image_not_found"
    missing = await client.get("/items/424242/image", headers=user.headers)
    assert missing.json()["code"] == "item_not_found"


async def test_deleting_the_image_file_leaves_the_item_without_an_image(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, make_item: ItemFactory
) -> None:
    image = await make_file(user)
    item = await make_item(user, image_file_id=image["id"])
    assert (await client.delete(f"/files/{image['id']}", headers=user.headers)).status_code == 204
    after = await client.get(f"/items/{item['id']}", headers=user.headers)
    assert after.status_code == 200
    assert after.json()["image_file_id"] is None


async def test_deleting_the_item_keeps_the_file(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, make_item: ItemFactory
) -> None:
    image = await make_file(user)
    item = await make_item(user, image_file_id=image["id"])
    assert (await client.delete(f"/items/{item['id']}", headers=user.headers)).status_code == 204
    assert (await client.get(f"/files/{image['id']}", headers=user.headers)).status_code == 200


async def test_an_image_can_be_removed(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, make_item: ItemFactory
) -> None:
    image = await make_file(user)
    item = await make_item(user, image_file_id=image["id"])
    response = await client.patch(
        f"/items/{item['id']}", json={"image_file_id": None}, headers=user.headers
    )
    assert response.json()["image_file_id"] is None


@pytest.mark.parametrize("file_id", [0, 2**31])
async def test_an_image_file_id_outside_the_id_column_is_422(
    client: httpx.AsyncClient, user: SignedInUser, file_id: int
) -> None:
    body = {"name": "Framed", "price": "1.00", "image_file_id": file_id}
    response = await client.post("/items", json=body, headers=user.headers)
    assert response.status_code == 422
