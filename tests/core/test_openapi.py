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


def test_every_operation_with_a_body_documents_its_400_and_413(app: FastAPI) -> None:
    undocumented = [
        f"{m.upper()} {p}"
        for p, m, op in operations(app.openapi())
        if "requestBody" in op and not {"400", "413"} <= set(op["responses"])
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "path", ["/api/v1/files/{file_id}/content", "/api/v1/items/{item_id}/image"]
)
def test_downloads_document_every_sniffed_type(app: FastAPI, path: str) -> None:
    content = app.openapi()["paths"][path]["get"]["responses"]["200"]["content"]
    assert set(content) == {
        *("image/png", "image/jpeg", "image/gif", "image/webp"),
        *("application/pdf", "text/plain", "text/csv"),
    }


def test_every_string_without_a_format_refuses_nul(app: FastAPI) -> None:
    def strings(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, list):
            return [s for value in node for s in strings(value)]
        if not isinstance(node, dict):
            return []
        found = [node] if node.get("type") == "string" else []
        return found + [s for value in node.values() for s in strings(value)]

    own_rule = {"pattern", "format", "enum", "const"}
    loose = [s for s in strings(app.openapi()) if not own_rule & set(s)]
    assert loose == []
