"""`BodyRoute`: the route class of every router, for strict JSON bodies and their 400s.

Python's `json` reads `NaN` and `Infinity` (no JSON has them), turns a number too small
for a float (`1e-400`) into `0.0` before any validator can see it, and gives up on an
integer of more than 4300 digits with an error FastAPI answers as a generic
`bad_request`. Here a JSON body is parsed with fractions as `Decimal` (exact: `1e-400`
stays itself, and the money rules refuse it as too many decimals, 422), without the
constants, and with numbers of at most `MAX_NUMBER_CHARS` characters: anything else is
a 400 `malformed_body`, like any other text that is not JSON.

A route with a body documents its 400 (`malformed_body`, `bad_request`) and 413 once,
here, instead of per route.
"""

import json
from collections.abc import AsyncGenerator, Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute

from backoffice.errors import (
    BadRequest,
    MalformedBody,
    PayloadTooLarge,
    error_responses,
    merge_responses,
)

MAX_NUMBER_CHARS = 100
"""Longer than any id or amount: a longer number is no value any field takes."""

JSON_BODY_CODES = (MalformedBody, BadRequest, PayloadTooLarge)
FORM_BODY_CODES = (BadRequest, PayloadTooLarge)
JSON_BODY_ERRORS: dict[int | str, str] = {
    400: "The body cannot be read: `malformed_body` (not JSON: syntax, encoding, NaN or "
    f"Infinity, a number of more than {MAX_NUMBER_CHARS} characters) or `bad_request`",
    413: "Body too large",
}
FORM_BODY_ERRORS: dict[int | str, str] = {
    400: "`bad_request`: the form cannot be read",
    413: "Body too large",
}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"number of more than {MAX_NUMBER_CHARS} characters")
    return text


def _integer(text: str) -> int:
    return int(_number(text))


def _fraction(text: str) -> Decimal:
    return Decimal(_number(text))


def _no_constant(text: str) -> None:
    raise ValueError(f"{text} is not JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: every refusal is a `JSONDecodeError`, which FastAPI answers as 400."""
    try:
        return json.loads(
            body, parse_int=_integer, parse_float=_fraction, parse_constant=_no_constant
        )
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # bad encoding, a refused number, deep nesting
        raise json.JSONDecodeError(str(exc) or type(exc).__name__, "", 0) from exc


class StrictJSONRequest(Request):
    """The request the route sees: its own body is read through the original request, whose
    cache an earlier reader (the idempotency check) may already have filled."""

    def __init__(self, request: Request) -> None:
        super().__init__(request.scope, request.receive)
        self._original = request

    def stream(self) -> AsyncGenerator[bytes, None]:
        return self._original.stream()

    async def body(self) -> bytes:
        return await self._original.body()

    async def json(self) -> Any:
        return parse_json(await self.body())


class BodyRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is None:
            return
        errors = FORM_BODY_ERRORS if self._form_body else JSON_BODY_ERRORS
        codes = FORM_BODY_CODES if self._form_body else JSON_BODY_CODES
        responses = merge_responses(error_responses(*codes), self.responses)
        for status_code, description in errors.items():
            own = self.responses.get(status_code, {}).get("description")
            # A route rebuilt from its own fields (`add_routes`) already says it.
            responses[status_code]["description"] = (
                f"{own}; {description}" if own and description not in own else own or description
            )
        self.responses = responses

    @property
    def _form_body(self) -> bool:
        return self.body_field is not None and isinstance(self.body_field.field_info, params.Form)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if self.body_field is None or self._form_body:
            return handler

        async def strict_json_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request))

        return strict_json_handler
