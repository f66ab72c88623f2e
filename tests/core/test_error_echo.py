"""422 bodies never echo what may be a secret."""

import httpx

SECRET = "MySecretPassword!"


def echoed(response: httpx.Response) -> list[object]:
    assert response.status_code == 422, response.text
    return [error.get("input") for error in response.json()["detail"]]


async def test_a_bare_json_string_body_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json=SECRET)
    assert SECRET not in response.text
    assert echoed(response) == [None]


async def test_an_unknown_fields_value_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"email": "a@example.com", "password": "x", "pasword": SECRET}
    )
    assert SECRET not in response.text


async def test_an_overlong_refresh_token_is_not_echoed(client: httpx.AsyncClient) -> None:
    token = "r" * 600
    response = await client.post("/auth/refresh", json={"refresh_token": token})
    assert "rrrr" not in response.text
    assert echoed(response) == [None]


async def test_a_plain_fields_rejected_value_is_still_echoed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "not-an-email", "password": "long enough", "full_name": "A"},
    )
    assert "not-an-email" in echoed(response)
