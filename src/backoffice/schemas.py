"""Base classes shared by every module's request and response models."""

import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_DB_ID = 2**31 - 1


def canonical_id_text(value: Any) -> Any:
    """A path id is ASCII digits: lax int parsing would also read `1.0` and ` 1` as 1."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a positive integer in plain digits")
    return value


DbId = Annotated[int, Ge(1), Le(MAX_DB_ID), BeforeValidator(canonical_id_text)]
"""An id that fits the integer identity columns: a larger one is 422, never a 500.

The bounds come before the validator, so they are in the JSON Schema too."""


def json_number(value: Any) -> Any:
    """A JSON number (`348.0` is an integer to JSON Schema too), never a boolean or a string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a JSON integer")
    return value


BodyId = Annotated[int, Ge(1), Le(MAX_DB_ID), BeforeValidator(json_number)]
"""An id inside a JSON body, as its schema says: lax parsing would also take `true` as 1
and `"5"` as 5."""

Flag = Annotated[bool, Strict()]
"""A boolean inside a JSON body: `true` or `false`, not `1`, `"yes"` or `"true"`."""


def normalize_email(email: str) -> str:
    """One spelling per address, so uniqueness and look-ups ignore case and look-alikes.

    NFKC folds compatibility characters (fullwidth letters, the roman numeral small m) and NFD
    sequences into one form; `casefold` is `lower` for every script. The second NFKC
    closes what case folding may open. Registration, both sign-in forms, profile
    changes and create-admin all go through here.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def _normalize_input(value: Any) -> Any:
    return normalize_email(value) if isinstance(value, str) else value


Email = Annotated[
    EmailStr,
    BeforeValidator(_normalize_input),
    AfterValidator(normalize_email),
    Field(max_length=320),
]
"""Normalised before validation too, so a folded form that is no address is a 422."""


def reject_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL in text: refuse it here, before it can become a 500."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


SafeStr = Annotated[str, AfterValidator(reject_nul)]


MAX_REQUEST_FIELDS = 100
"""Fields one request model is given at most; the largest has 9."""


Example = dict[str, Any]


def with_example(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A model's `example` as its schema's `examples`: what the API docs and the generated
    clients show, instead of text made up from the schema's patterns. FastAPI drops
    `None` from the document, so an example gives every nullable field a value."""
    example = getattr(model, "example", None)
    if example is not None:
        schema["examples"] = [example]


class RequestModel(BaseModel):
    """Request bodies and query models: unknown fields and NUL characters are 422."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=with_example)
    example: ClassVar[Example | None] = None
    nul_allowed: ClassVar[frozenset[str]] = frozenset()
    """Fields the service itself refuses with an error of its own (a mailed link's token:
    400 `invalid_token` for any wrong string); never stored as they are."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        """FastAPI validates with `from_attributes`, under which any object lacking the
        fields' attributes passed as a model with none set: a JSON body of `1e3` (parsed
        as an exact `Decimal`) was a PATCH that changes nothing, answered 200.

        More than `MAX_REQUEST_FIELDS` fields are one error, not one per unknown field:
        a query string of 5,000 unknown parameters cost 45 ms of errors to build."""
        if not isinstance(data, Mapping | BaseModel):
            raise PydanticCustomError(
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            )
        if isinstance(data, Mapping) and len(data) > MAX_REQUEST_FIELDS:
            raise PydanticCustomError(
                "too_many_fields",
                "At most {max_fields} fields",
                {"max_fields": MAX_REQUEST_FIELDS},
            )
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _reject_nul(cls, value: Any, info: ValidationInfo) -> Any:
        return value if info.field_name in cls.nul_allowed else reject_nul(value)


def _without_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON Schema of a `not_nullable` field: its type without the `null` branch."""
    with_example(schema, model)
    for name in getattr(model, "not_nullable", ()):
        field = schema.get("properties", {}).get(name, {})
        branches = [branch for branch in field.pop("anyOf", []) if branch != {"type": "null"}]
        if len(branches) == 1:
            field.update({**branches[0], **field})
        elif branches:
            field["anyOf"] = branches


class PatchModel(RequestModel):
    """PATCH bodies: fields left out stay as they are; `null` clears a field, except the
    ones named in `not_nullable`, which may be left out but not sent as `null` (their
    schema has no `null` either)."""

    model_config = ConfigDict(json_schema_extra=_without_null)
    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.not_nullable:
            raise ValueError("may be left out, but not null")
        return value


class ReadModel(BaseModel):
    """Response models, built straight from ORM rows or Core result rows."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra=with_example)
    example: ClassVar[Example | None] = None
