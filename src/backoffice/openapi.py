"""The OpenAPI document, with the one rule every string shares written into it.

PostgreSQL cannot store NUL in text, so every string the API reads refuses it (422,
`RequestModel`) and none it sends holds one. Each string schema without a pattern or a
format of its own gets `^[^\\x00]*$`, once, here, rather than on every field.
"""

from typing import Any

from fastapi import FastAPI

NO_NUL_PATTERN = r"^[^\x00]*$"
OWN_RULES = ("pattern", "format", "enum", "const")


def refuse_nul(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not any(rule in node for rule in OWN_RULES):
            node["pattern"] = NO_NUL_PATTERN
        for value in node.values():
            refuse_nul(value)
    elif isinstance(node, list):
        for value in node:
            refuse_nul(value)


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` builds FastAPI's document once, then adds the NUL rule to it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            refuse_nul(generate())
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
