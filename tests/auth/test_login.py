import httpx

from tests.conftest import PASSWORD, SignedInUser, UserFactory


async def test_register_returns_the_user_without_secrets(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "Ann@Example.com", "password": PASSWORD, "full_name": "Ann"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["role"] == "user"
    assert "password" not in str(body)


async def test_login_returns_a_token_pair(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"]
    assert body["refresh_token"]


async def test_me_answers_for_the_signed_in_user(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    response = await client.get("/users/me", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["email"] == user.email


async def test_password_form_signs_in_like_swagger(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    response = await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
    assert response.status_code == 200
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["id"] == user.id
