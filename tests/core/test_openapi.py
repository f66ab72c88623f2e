"""The committed `openapi.json` is the app's schema; `make openapi` regenerates it."""

import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import project_root

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_committed_openapi_matches_the_app(app: FastAPI) -> None:
    committed = json.loads((project_root() / "openapi.json").read_text())
    assert app.openapi() == committed, "schema drifted: run `make openapi` and commit it"


@pytest.mark.parametrize("field", ["operationId", "summary"])
def test_every_operation_has(app: FastAPI, field: str) -> None:
    missing = [f"{m.upper()} {p}" for p, m, op in operations(app.openapi()) if not op.get(field)]
    assert missing == []


def test_every_api_operation_documents_its_errors(app: FastAPI) -> None:
    undocumented = [
        f"{m.upper()} {p}"
        for p, m, op in operations(app.openapi())
        if p.startswith("/api/v1")
        and not any(code.startswith(("4", "5")) for code in op["responses"])
    ]
    assert undocumented == []


def test_operation_ids_are_unique(app: FastAPI) -> None:
    ids = [op["operationId"] for _, _, op in operations(app.openapi())]
    assert len(ids) == len(set(ids))
