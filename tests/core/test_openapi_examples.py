"""The OpenAPI document's examples are real data its own schemas accept, and every error
response lists the codes its route declares, each a code the service really sends."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from jsonschema import Draft202012Validator

from backoffice.errors import HTTP_CODES, DomainError
from backoffice.errors import error_responses as error_responses_of
from backoffice.openapi import TAGS, example_of
from tests.core.test_openapi import operations

Example = tuple[str, dict[str, Any], Any]


def media_examples(document: dict[str, Any]) -> Iterator[Example]:
    """(where, schema, example) of every request and response body that has one."""
    for path, method, operation in operations(document):
        bodies = {"request": operation.get("requestBody", {}), **operation["responses"]}
        for status, body in bodies.items():
            for media_type, content in body.get("content", {}).items():
                where = f"{method.upper()} {path} {status} {media_type}"
                if "example" in content:
                    yield where, content["schema"], content["example"]
                for name, example in content.get("examples", {}).items():
                    yield f"{where} {name}", content["schema"], example["value"]


def error_responses(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The API's error responses (a not-ready probe's 503 is a health body, no error)."""
    for path, method, operation in operations(document):
        if not path.startswith("/api/v1"):
            continue
        for status, body in operation["responses"].items():
            if status.startswith(("4", "5")) and "application/json" in body.get("content", {}):
                yield f"{method.upper()} {path} {status}", body["content"]["application/json"]


def every_subclass(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from every_subclass(sub)


def sent_codes() -> set[str]:
    """Every code a handler can put in a body: the domain errors' and Starlette's."""
    return {e.code for e in every_subclass(DomainError)} | set(HTTP_CODES.values())


def test_every_example_is_valid_against_its_own_schema(app: FastAPI) -> None:
    document = app.openapi()
    examples = list(media_examples(document))
    invalid = []
    for where, schema, example in examples:
        validator = Draft202012Validator(
            {**schema, "components": document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        invalid += [f"{where}: {error.message}" for error in validator.iter_errors(example)]

    assert len(examples) > 100
    assert invalid == []


def test_every_json_body_has_an_example(app: FastAPI) -> None:
    bare = [
        where
        for path, method, op in operations(app.openapi())
        for status, body in {"request": op.get("requestBody", {}), **op["responses"]}.items()
        for media_type, content in body.get("content", {}).items()
        if media_type == "application/json" and not {"example", "examples"} & set(content)
        for where in [f"{method.upper()} {path} {status}"]
    ]
    assert bare == []


def test_every_error_response_lists_its_codes_and_shows_each(app: FastAPI) -> None:
    mismatched = [
        where
        for where, content in error_responses(app.openapi())
        if content["schema"]["properties"]["code"].get("enum")
        != [example["value"]["code"] for example in content.get("examples", {}).values()]
    ]
    assert mismatched == []


def test_every_documented_error_code_is_one_the_service_sends(app: FastAPI) -> None:
    known = sent_codes()
    unknown = {
        f"{where} {code}"
        for where, content in error_responses(app.openapi())
        for code in content["schema"]["properties"]["code"]["enum"]
        if code not in known
    }
    assert unknown == set()


@pytest.mark.parametrize(
    ("path", "method", "status", "codes"),
    [
        ("/api/v1/users/me", "get", "401", ["not_authenticated"]),
        ("/api/v1/items", "post", "409", ["item_exists", "idempotency_key_in_use"]),
        ("/api/v1/auth/login", "post", "429", ["rate_limited", "too_many_requests"]),
        ("/api/v1/users/me/password", "post", "400", ["wrong_password", "malformed_body"]),
    ],
)
def test_a_route_documents_the_codes_of_every_layer_it_passes(
    app: FastAPI, path: str, method: str, status: str, codes: list[str]
) -> None:
    content = app.openapi()["paths"][path][method]["responses"][status]["content"]
    assert set(codes) <= set(content["application/json"]["schema"]["properties"]["code"]["enum"])


def test_user_examples_read_like_real_data(app: FastAPI) -> None:
    responses = app.openapi()["paths"]["/api/v1/users/me"]["get"]["responses"]
    me = responses["200"]["content"]["application/json"]["example"]
    unauthorized = responses["401"]["content"]["application/json"]["examples"]

    assert me["email"] == "ada@example.com"
    assert me["full_name"] == "Ada Lovelace"
    assert unauthorized["not_authenticated"]["value"]["code"] == "not_authenticated"


def test_tags_are_described_in_reading_order(app: FastAPI) -> None:
    document = app.openapi()
    used = {tag for _, _, op in operations(document) for tag in op.get("tags", [])}

    assert [tag["name"] for tag in document["tags"]] == [tag["name"] for tag in TAGS]
    assert document["tags"][0]["name"] == "auth"
    assert all(tag["description"] for tag in document["tags"])
    assert used == {tag["name"] for tag in document["tags"]}


@pytest.mark.parametrize(
    "topic", ["Bearer", "refresh", "Idempotency-Key", "RateLimit", "request_id"]
)
def test_the_description_explains(app: FastAPI, topic: str) -> None:
    assert topic in app.openapi()["info"]["description"]


def test_a_status_the_framework_never_answers_must_be_declared_by_its_error_class() -> None:
    with pytest.raises(TypeError, match="name the DomainError class"):
        error_responses_of(404)


def test_a_field_without_an_example_fails_the_document() -> None:
    with pytest.raises(ValueError, match="no example"):
        example_of({"type": "object", "properties": {"name": {"type": "string"}}}, {})
