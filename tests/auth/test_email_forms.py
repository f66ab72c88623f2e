"""One account per address, however its letters are spelled."""

import unicodedata

import httpx
import pytest

from tests.conftest import PASSWORD, UserFactory

NFC_EMAIL = unicodedata.normalize("NFC", "jos\u00e9@example.com")
NFD_EMAIL = unicodedata.normalize("NFD", NFC_EMAIL)


@pytest.mark.parametrize(
    "look_alike",
    ["\uff4d\uff41\uff49\uff4c@example.com", "\u217fail@example.com", "MAIL@Example.com"],
    ids=["fullwidth", "roman-numeral-m", "upper-case"],
)
async def test_a_look_alike_email_is_the_same_account(
    client: httpx.AsyncClient, make_user: UserFactory, look_alike: str
) -> None:
    await make_user(email="mail@example.com")
    response = await client.post(
        "/auth/register", json={"email": look_alike, "password": PASSWORD, "full_name": "Twin"}
    )
    assert response.status_code == 409


async def test_an_nfd_email_signs_in_through_the_password_form(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    await make_user(email=NFD_EMAIL)
    for username in (NFD_EMAIL, NFC_EMAIL):
        response = await client.post(
            "/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, username


async def test_a_profile_email_change_is_normalised(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    response = await client.patch(
        "/users/me", json={"email": "\uff4e\uff45\uff57@example.com"}, headers=user.headers
    )
    assert response.json()["pending_email"] == "new@example.com"
