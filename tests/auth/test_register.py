import httpx
import pytest

from tests.conftest import PASSWORD, SignedInUser


def register_body(**overrides: object) -> dict[str, object]:
    return {"email": "new@example.com", "password": PASSWORD, "full_name": "New"} | overrides


async def test_duplicate_email_in_another_case_is_409(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post("/auth/register", json=register_body(email=user.email.upper()))
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


async def test_password_of_seven_bytes_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=register_body(password="1234567"))
    assert response.status_code == 422


async def test_password_of_73_bytes_in_multibyte_characters_is_422(
    client: httpx.AsyncClient,
) -> None:
    password = "é" * 36 + "x"  # 36 two-byte characters + 1 = 73 bytes, 37 characters
    assert len(password.encode()) == 73
    response = await client.post("/auth/register", json=register_body(password=password))
    assert response.status_code == 422
    assert "72 bytes" in response.text


async def test_password_of_72_bytes_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=register_body(password="é" * 36))
    assert response.status_code == 201


async def test_role_in_the_register_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=register_body(role="admin"))
    assert response.status_code == 422


@pytest.mark.parametrize("email", ["not-an-email", "a@", ""])
async def test_malformed_email_is_422(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/auth/register", json=register_body(email=email))
    assert response.status_code == 422


async def test_nul_in_full_name_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/register", json=register_body(full_name="a\x00b"))
    assert response.status_code == 422
