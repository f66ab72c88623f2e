"""The OpenAPI document, with what FastAPI cannot say on its own written into it.

PostgreSQL cannot store NUL in text, so every string the API reads refuses it (422,
`RequestModel`) and none it sends holds one. Each string schema without a pattern or a
format of its own gets `^[^\\x00]*$`, once, here, rather than on every field.

Swagger UI and ReDoc would otherwise show examples generated from those patterns
(random text): every JSON body gets an `example` built from its models' own examples,
and every error response a `code` enum made of the codes its route declares
(`error_responses`), so a generated client can switch on them.
"""

import copy
from pathlib import Path
from typing import Any

import anyio
import fastapi_offline
from fastapi import FastAPI, Response
from starlette.routing import Mount

DESCRIPTION = """\
A back office for mobile apps: users sign in, own accounts and their employees, publish
a catalogue of items, upload files and receive notifications. Every path below is under
`/api/v1` except the health and metrics routes.

**Signing in.** `POST /api/v1/auth/login` (JSON) or `POST /api/v1/auth/token` (the OAuth2
password form that **Authorize** uses) answers `{access_token, refresh_token, expires_in}`.
Send the access token as `Authorization: Bearer <access_token>`; it lasts `expires_in`
seconds (15 minutes by default). Trade the refresh token at `POST /api/v1/auth/refresh`
for a new pair before or after that: each refresh token works **once** (rotation), and
presenting a spent one again signs that device out (`refresh_token_reused`), so keep
only the newest. Changing the password signs every device out.

**Signing out everywhere, deleting the account.** `POST /api/v1/auth/logout-all` signs
every device out, this one included. `DELETE /api/v1/users/me` with `{"password": ...}`
deletes the signed-in user and everything that is theirs; every token of theirs is
refused from then on.

**Retrying safely.** A POST that creates something takes an `Idempotency-Key` header
(1 to 255 visible ASCII characters, e.g. a UUID): the same key with the same body within
24 hours replays the first response, with `Idempotent-Replayed: true`, instead of
creating twice. Send one per user action and reuse it on every retry of that action.

**Rate limits.** Every response carries `RateLimit-Policy` and `RateLimit` (requests
remaining and seconds to reset, per budget). Past the budget the answer is 429
`rate_limited` with `Retry-After` in seconds; wait that long before trying again. The
sign-in throttle per email answers 429 `too_many_requests`, also with `Retry-After`.

**Errors.** Every error has one body: `{"detail": ..., "code": "...", "request_id": "..."}`.
`detail` is for people (on a 422, a list of `{loc, msg, type}` entries naming each
invalid field); `code` is for programs: each response below lists the codes its route
can answer with, so switch on `code`, never on `detail`. Quote `request_id` (also the
`X-Request-ID` header) when reporting a problem.
"""

TAGS = [
    {"name": "auth", "description": "Register, sign in, refresh tokens, sign devices out."},
    {
        "name": "users",
        "description": "The signed-in user's profile and password; admins manage every user.",
    },
    {"name": "accounts", "description": "Organisations a user owns (an admin sees all)."},
    {"name": "employees", "description": "The people of an account."},
    {
        "name": "items",
        "description": "The catalogue: search, filter, sort and page; money "
        'is a decimal string like `"12.50"`.',
    },
    {
        "name": "files",
        "description": "Uploads (type sniffed from the bytes) and downloads with ETags.",
    },
    {"name": "notifications", "description": "Messages to the signed-in user, newest first."},
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics."},
]
"""In the order a reader meets them, not the order the routes are matched in."""

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


EXAMPLE_MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded")


def referenced(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = components[schema["$ref"].rsplit("/", 1)[-1]]
    return found


def example_of(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """An instance of `schema` made of the examples its models and fields carry.

    A value with no example of its own (no `examples`, `enum`, `const` or `default`)
    is an error: the document shows no made-up data.
    """
    if "examples" in schema:
        return schema["examples"][0]
    if "$ref" in schema:
        return example_of(referenced(schema, components), components)
    for rule in ("const", "default"):
        if rule in schema:
            return schema[rule]
    if "enum" in schema:
        return schema["enum"][0]
    branches = [b for b in schema.get("anyOf", schema.get("allOf", [])) if b != {"type": "null"}]
    if branches:
        return example_of(branches[0], components)
    if schema.get("type") == "array":
        return [example_of(schema["items"], components)]
    if schema.get("type") == "object" and "properties" in schema:
        return {name: example_of(value, components) for name, value in schema["properties"].items()}
    raise ValueError(f"no example for {schema}: give the field or its model one")


def error_schema(error_body: dict[str, Any], codes: list[str]) -> dict[str, Any]:
    """The error body's schema, its `code` narrowed to the codes the route declares."""
    schema = {key: value for key, value in copy.deepcopy(error_body).items() if key != "title"}
    schema["properties"]["code"] = {"type": "string", "enum": codes}
    return schema


def describe_codes(response: dict[str, Any], examples: dict[str, Any]) -> None:
    codes = "\n".join(f"- `{code}`: {example['summary']}" for code, example in examples.items())
    response["description"] = f"{response['description']}\n\n{codes}"


def add_examples(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    for path in document["paths"].values():
        for operation in path.values():
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            for body in bodies:
                for media_type, content in body.get("content", {}).items():
                    if "examples" in content and "$ref" in content.get("schema", {}):
                        examples = content["examples"]
                        error_body = referenced(content["schema"], components)
                        content["schema"] = error_schema(error_body, list(examples))
                        describe_codes(body, examples)
                    elif media_type in EXAMPLE_MEDIA_TYPES and "example" not in content:
                        content["example"] = example_of(content.get("schema", {}), components)


DOCS_ASSETS = "/static-offline-docs"
REDOC_BUNDLE = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def serve_offline_redoc(app: FastAPI) -> None:
    """ReDoc's bundle, its one external fetch (the Redocly logo of the menu's footer)
    pointed at the service's own favicon: the page then asks no other host for
    anything (a headless chromium showed the failed request as a console error)."""
    bundle: list[bytes] = []

    async def redoc_bundle() -> Response:
        if not bundle:
            text = await anyio.Path(REDOC_BUNDLE).read_text()
            bundle.append(text.replace(REDOC_LOGO, f"{DOCS_ASSETS}/favicon.png").encode())
        return Response(bundle[0], media_type="text/javascript; charset=utf-8")

    app.add_api_route(f"{DOCS_ASSETS}/redoc.standalone.js", redoc_bundle, include_in_schema=False)
    route = app.router.routes.pop()
    mount = next(i for i, r in enumerate(app.router.routes) if isinstance(r, Mount))
    app.router.routes.insert(mount, route)


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` builds FastAPI's document once, then adds the NUL rule and the
    examples to it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            refuse_nul(document)
            add_examples(document)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
    serve_offline_redoc(app)
