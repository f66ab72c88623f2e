import httpx

from tests.conftest import PASSWORD, SignedInUser


async def test_unknown_email_and_wrong_password_look_the_same(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    wrong = await client.post("/auth/login", json={"email": user.email, "password": "wrong-pass"})
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(unknown) == strip(wrong)


async def test_100_byte_password_on_login_is_401_not_500(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post("/auth/login", json={"email": user.email, "password": "x" * 100})
    assert response.status_code == 401


async def test_login_email_is_case_insensitive(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/auth/login", json={"email": user.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_deactivated_user_cannot_sign_in(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser
) -> None:
    await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=admin.headers)
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401


async def test_nul_in_form_username_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "a\x00@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_an_overlong_form_username_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "a" * 400 + "@example.com", "password": PASSWORD}
    )
    assert response.status_code == 422


async def test_a_grant_type_other_than_password_is_422(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.post(
        "/auth/token",
        data={"username": user.email, "password": PASSWORD, "grant_type": "client_credentials"},
    )
    assert response.status_code == 422
