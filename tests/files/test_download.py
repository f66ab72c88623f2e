import hashlib

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser, UserFactory
from tests.factories import UploadFactory
from tests.files.samples import PNG_BYTES, count_rows


async def test_a_png_round_trips_byte_for_byte_with_the_right_headers(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    meta = await make_file(user, filename="../../etc/pixel.png")
    response = await client.get(f"/files/{meta['id']}/content", headers=user.headers)
    assert response.status_code == 200
    assert response.content == PNG_BYTES
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"pixel.png\"; filename*=UTF-8''pixel.png"
    )
    assert response.headers["etag"] == f'"{hashlib.sha256(PNG_BYTES).hexdigest()}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-cache"


async def test_text_is_served_as_utf8(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    content = "naïve,café\n".encode()
    meta = await make_file(user, content=content, filename="t.csv", content_type="text/csv")
    response = await client.get(f"/files/{meta['id']}/content", headers=user.headers)
    assert response.content == content
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize("template", ['"{tag}"', 'W/"{tag}"', '"other", "{tag}"', "*"])
async def test_a_matching_if_none_match_is_304_without_a_body(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, template: str
) -> None:
    meta = await make_file(user)
    response = await client.get(
        f"/files/{meta['id']}/content",
        headers={**user.headers, "If-None-Match": template.format(tag=meta["sha256"])},
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == f'"{meta["sha256"]}"'


async def test_a_stale_if_none_match_gets_the_bytes(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    meta = await make_file(user)
    response = await client.get(
        f"/files/{meta['id']}/content", headers={**user.headers, "If-None-Match": '"0000"'}
    )
    assert response.status_code == 200
    assert response.content == PNG_BYTES


async def test_metadata_of_one_file(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    meta = await make_file(user)
    response = await client.get(f"/files/{meta['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == meta


async def test_list_has_only_the_callers_files_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory, make_file: UploadFactory
) -> None:
    ann, bob = await make_user(), await make_user()
    first = await make_file(ann, filename="1.png")
    await make_file(bob, filename="bob.png")
    second = await make_file(ann, filename="2.png")
    response = await client.get("/files", params={"limit": 1}, headers=ann.headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["skip"], body["limit"]) == (2, 0, 1)
    assert body["items"] == [second]
    rest = await client.get("/files", params={"skip": 1}, headers=ann.headers)
    assert rest.json()["items"] == [first]


@pytest.mark.parametrize("path", ["/files/{id}", "/files/{id}/content"])
async def test_another_users_file_is_404(
    client: httpx.AsyncClient, make_user: UserFactory, make_file: UploadFactory, path: str
) -> None:
    owner, stranger = await make_user(), await make_user()
    meta = await make_file(owner)
    response = await client.get(path.format(id=meta["id"]), headers=stranger.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "file_not_found"
    missing = await client.get(path.format(id=meta["id"] + 1000), headers=stranger.headers)
    assert missing.json() == {**response.json(), "request_id": missing.json()["request_id"]}


async def test_another_users_file_cannot_be_deleted(
    client: httpx.AsyncClient, make_user: UserFactory, make_file: UploadFactory
) -> None:
    owner, stranger = await make_user(), await make_user()
    meta = await make_file(owner)
    response = await client.delete(f"/files/{meta['id']}", headers=stranger.headers)
    assert response.status_code == 404
    assert (await client.get(f"/files/{meta['id']}", headers=owner.headers)).status_code == 200


async def test_admin_may_read_and_delete_any_file(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, make_file: UploadFactory
) -> None:
    meta = await make_file(user)
    content = await client.get(f"/files/{meta['id']}/content", headers=admin.headers)
    assert content.content == PNG_BYTES
    assert (await client.get(f"/files/{meta['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get("/files", headers=admin.headers)).json()["total"] == 0
    assert (await client.delete(f"/files/{meta['id']}", headers=admin.headers)).status_code == 204


async def test_delete_removes_metadata_and_content(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory, engine: AsyncEngine
) -> None:
    meta = await make_file(user)
    response = await client.delete(f"/files/{meta['id']}", headers=user.headers)
    assert response.status_code == 204
    assert await count_rows(engine) == (0, 0)
    for path in (f"/files/{meta['id']}", f"/files/{meta['id']}/content"):
        assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.delete(f"/files/{meta['id']}", headers=user.headers)).status_code == 404


async def test_files_need_a_token(client: httpx.AsyncClient) -> None:
    for path in ("/files", "/files/1", "/files/1/content"):
        assert (await client.get(path)).status_code == 401
    assert (await client.delete("/files/1")).status_code == 401


@pytest.mark.parametrize("file_id", [0, 2**31])
@pytest.mark.parametrize("suffix", ["", "/content"])
async def test_a_file_id_outside_the_id_column_is_422(
    client: httpx.AsyncClient, user: SignedInUser, file_id: int, suffix: str
) -> None:
    assert (await client.get(f"/files/{file_id}{suffix}", headers=user.headers)).status_code == 422
    assert (await client.delete(f"/files/{file_id}", headers=user.headers)).status_code == 422
