"""`HEAD` wherever `GET` is: same status and headers, for monitors and load balancers."""

import re

import httpx
from fastapi import FastAPI

from tests.conftest import SignedInUser

PER_REQUEST = {"x-request-id", "x-process-time"}


async def test_head_answers_every_get_operation_as_get_does(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """From the OpenAPI document: each `GET` path, asked anonymously with ids of 1."""
    paths = [path for path, item in app.openapi()["paths"].items() if "get" in item]
    answers = {}
    for template in paths:
        url = "http://test" + re.sub(r"\{[^}]+\}", "1", template)
        get, head = await client.get(url), await client.head(url)
        answers[template] = (get.status_code, head.status_code)
    assert {path: pair for path, pair in answers.items() if pair[0] != pair[1]} == {}
    assert answers["/health/live"] == (200, 200)


async def test_head_sends_the_headers_of_get(client: httpx.AsyncClient, user: SignedInUser) -> None:
    get = await client.get("/users/me", headers=user.headers)
    head = await client.head("/users/me", headers=user.headers)
    assert (get.status_code, head.status_code) == (200, 200)
    assert {k: v for k, v in head.headers.items() if k not in PER_REQUEST} == {
        k: v for k, v in get.headers.items() if k not in PER_REQUEST
    }


async def test_head_is_counted_under_its_route_template(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    await client.head("/users/me", headers=user.headers)
    metrics = (await client.get("http://test/metrics")).text
    assert (
        'backoffice_requests_total{method="HEAD",route="/api/v1/users/me",status="200"}' in metrics
    )


async def test_a_405_allows_head_where_get_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.put("/users/me")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PATCH, DELETE"
