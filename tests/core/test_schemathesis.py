"""Schemathesis over the app's own OpenAPI document: no generated input gets a 5xx.

Every operation is one test. Each example is a request that Schemathesis builds from
the schema, valid (positive) or deliberately not (negative), sent through ASGI to the
running test app, as a signed-in user, an admin or nobody; path ids are either
generated or those of real objects seeded for the test, so routes get past their 404.
The response must not be a server error and, when it is a success, must match the
documented schema.

The requests go through the `client` fixture's event loop (the app's engine lives
there), not through Schemathesis' own ASGI transport, which runs the app in a thread
with a loop of its own. Schemathesis only generates the cases and checks the answers.

`FUZZ_EXAMPLES=200 uv run pytest tests/core/test_schemathesis.py -p no:randomly` digs
deeper than the default, which keeps this file well under a minute.
"""

import json
import os
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.conftest import SignedInUser, UserFactory, project_root
from tests.factories import AccountFactory, EmployeeFactory, UploadFactory

BASE_URL = "http://testserver"
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))


def operation_ids() -> list[str]:
    """From the committed document (`test_openapi` keeps it equal to the app's)."""
    document = json.loads((project_root() / "openapi.json").read_text())
    return sorted(
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    )


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> OpenApiSchema:
    return schemathesis.openapi.from_dict(app.openapi())


@pytest.fixture
async def seeded(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    make_file: UploadFactory,
    make_account: AccountFactory,
    make_employee: EmployeeFactory,
) -> dict[str, Any]:
    """A user and an admin, and one object of every kind the user owns."""
    user = await make_user()
    admin = await make_user(role="admin")
    account = await make_account(user)
    employee = await make_employee(user, account["id"])
    file = await make_file(user)
    item = await client.post(
        "/items",
        json={"name": "Seeded", "price": "1.00", "image_file_id": file["id"]},
        headers=user.headers,
    )
    assert item.status_code == 201, item.text
    notifications = await client.get("/notifications", headers=user.headers)
    sessions = await client.get("/auth/sessions", headers=user.headers)
    return {
        "identities": {"user": user, "admin": admin},
        "path_ids": {
            "user_id": user.id,
            "account_id": account["id"],
            "employee_id": employee["id"],
            "file_id": file["id"],
            "item_id": item.json()["id"],
            "notification_id": notifications.json()["items"][0]["id"],
            "session_id": sessions.json()["items"][0]["id"],
        },
    }


def as_httpx(case: schemathesis.Case[Any], headers: dict[str, str]) -> dict[str, Any]:
    """The request Schemathesis would send (requests encodes bodies and multipart) for httpx."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
    ).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return {
        "method": prepared.method,
        "url": prepared.url,
        "headers": dict(prepared.headers),
        "content": body,
    }


@pytest.mark.parametrize("operation_id", operation_ids())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
async def test_generated_requests_never_get_a_server_error(
    app: FastAPI,
    schema: OpenApiSchema,
    seeded: dict[str, Any],
    operation_id: str,
    data: st.DataObject,
) -> None:
    operation = schema.find_operation_by_id(operation_id)
    mode = data.draw(st.sampled_from(list(GenerationMode)), label="mode")
    names = [p.name for p in operation.path_parameters]
    seeded_ids = bool(names) and data.draw(st.booleans(), label="seeded ids")
    fixed = {name: seeded["path_ids"][name] for name in names} if seeded_ids else None
    case = data.draw(operation.as_strategy(mode, path_parameters=fixed), label="case")
    who = data.draw(st.sampled_from(["user", "admin", None]), label="who")
    identity: SignedInUser | None = seeded["identities"].get(who) if who else None

    request = as_httpx(case, identity.headers if identity else {})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport) as http:
        response = await http.request(**request)

    checks: list[schemathesis.CheckFunction] = [not_a_server_error]
    if response.is_success:
        checks.append(response_schema_conformance)
    case.validate_response(response, checks=checks)
