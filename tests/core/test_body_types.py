"""A JSON body's values are read as their schema types say, not by lax coercion.

Each was accepted before (Schemathesis' negative data rejection found the first two).
"""

import httpx
import pytest

from tests.conftest import SignedInUser
from tests.factories import AccountFactory, UploadFactory


async def test_a_boolean_user_id_is_422_not_user_1(
    client: httpx.AsyncClient, admin: SignedInUser
) -> None:
    response = await client.post(
        "/notifications", json={"message": "hi", "user_id": True}, headers=admin.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "user_id"]


async def test_an_id_in_a_string_is_422(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    file = await make_file(user)
    response = await client.post(
        "/items",
        json={"name": "Quoted", "price": "1.00", "image_file_id": str(file["id"])},
        headers=user.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image_file_id"]


@pytest.mark.parametrize("flag", [1, 0, "true", "yes"])
async def test_is_active_takes_only_a_json_boolean(
    client: httpx.AsyncClient, user: SignedInUser, make_account: AccountFactory, flag: object
) -> None:
    account = await make_account(user)
    response = await client.post(
        f"/accounts/{account['id']}/employees",
        json={"full_name": "Ann", "email": "ann@example.com", "is_active": flag},
        headers=user.headers,
    )
    assert response.status_code == 422


async def test_an_admin_cannot_deactivate_with_a_string(
    client: httpx.AsyncClient, admin: SignedInUser, user: SignedInUser
) -> None:
    response = await client.patch(
        f"/users/{user.id}", json={"is_active": "false"}, headers=admin.headers
    )
    assert response.status_code == 422


@pytest.mark.parametrize("hired_on", [0, 1_000_000_000, "2020-01-01T00:00:00", "2020-1-1"])
async def test_hired_on_is_a_plain_date(
    client: httpx.AsyncClient,
    user: SignedInUser,
    make_account: AccountFactory,
    hired_on: object,
) -> None:
    account = await make_account(user)
    response = await client.post(
        f"/accounts/{account['id']}/employees",
        json={"full_name": "Ann", "email": "ann@example.com", "hired_on": hired_on},
        headers=user.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "hired_on"]


async def test_an_integral_json_number_is_an_id(
    client: httpx.AsyncClient, user: SignedInUser, make_file: UploadFactory
) -> None:
    file = await make_file(user)
    response = await client.post(
        "/items",
        content=f'{{"name": "Float id", "price": 1, "image_file_id": {file["id"]}.0}}'.encode(),
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["image_file_id"] == file["id"]


async def test_a_new_password_of_8_bytes_but_4_characters_is_422(
    client: httpx.AsyncClient,
) -> None:
    """The schema's `minLength: 8` counts characters; the server does too, besides bytes."""
    response = await client.post(
        "/auth/register",
        json={"email": "short@example.com", "password": "éééé", "full_name": "Short"},
    )
    assert response.status_code == 422
    assert "8 characters" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("body", [b"1e3", b"3.8986021331256856e+16", b"0.5"])
async def test_a_body_that_is_a_fraction_is_422_not_an_empty_patch(
    client: httpx.AsyncClient, admin: SignedInUser, user: SignedInUser, body: bytes
) -> None:
    """Schemathesis found this one: the number was a PATCH that changed nothing, 200."""
    headers = {**admin.headers, "Content-Type": "application/json"}
    response = await client.patch(f"/users/{user.id}", content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
