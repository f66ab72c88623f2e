import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SignedInUser
from tests.files.samples import ELF_BYTES, upload
from tests.items.test_notifications import notifications_of


async def test_an_upload_notifies_its_owner(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await upload(client, user)
    assert response.status_code == 201
    assert await notifications_of(engine, user.id) == [
        ("file_uploaded", {"file_id": response.json()["id"]})
    ]


async def test_a_refused_upload_notifies_nobody(
    client: httpx.AsyncClient, user: SignedInUser, engine: AsyncEngine
) -> None:
    response = await upload(client, user, ELF_BYTES, "x.png")
    assert response.status_code == 415
    assert await notifications_of(engine, user.id) == []
