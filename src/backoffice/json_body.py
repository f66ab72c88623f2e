"""`BodyRoute`: the route class of every router, for strict JSON bodies and their 400s.

Python's `json` reads `NaN` and `Infinity` (no JSON has them), turns a number too small
for a float (`1e-400`) into `0.0` before any validator can see it, gives up on an
integer of more than 4300 digits with an error FastAPI answers as a generic
`bad_request`, and reads UTF-16 and UTF-32 as readily as UTF-8. Here a JSON body is
parsed with fractions as `Decimal` (exact: `1e-400` stays itself, and the money rules
refuse it as too many decimals, 422), without the constants, from UTF-8 only (RFC 8259;
a leading UTF-8 byte order mark is ignored, as the RFC allows), and with numbers of at
most `MAX_NUMBER_CHARS` characters: anything else is a 400 `malformed_body`, like any
other text that is not JSON.

Size alone does not bound what a body costs: 1 MiB of `{"k1":0,"k2":0,...}` is 90,000
keys, each an error for the validator to build and the response to list (1.2 s and an
8 MB answer). So a body is refused as malformed, before it is parsed, when it has more
than `MAX_JSON_VALUES` commas and opening brackets outside its strings (about one per
value), and while it is parsed, when an object has more than `MAX_OBJECT_MEMBERS` keys.
No request body in the API comes near either.

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
MAX_JSON_VALUES = 1000
"""Commas and opening brackets outside strings in one body; no body in the API has 50."""
MAX_OBJECT_MEMBERS = 100
"""Keys in one object (duplicates included); the largest request model has 9 fields."""
UTF8_BOM = b"\xef\xbb\xbf"

JSON_BODY_CODES = (MalformedBody, BadRequest, PayloadTooLarge)
FORM_BODY_CODES = (BadRequest, PayloadTooLarge)
JSON_BODY_ERRORS: dict[int | str, str] = {
    400: "The body cannot be read: `malformed_body` (not JSON: syntax, not UTF-8, NaN or "
    f"Infinity, a number of more than {MAX_NUMBER_CHARS} characters, more than "
    f"{MAX_JSON_VALUES} values, an object of more than {MAX_OBJECT_MEMBERS} keys, "
    "nesting too deep) or `bad_request`",
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


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_OBJECT_MEMBERS:
        raise ValueError(f"an object of more than {MAX_OBJECT_MEMBERS} keys")
    return dict(pairs)


def _separators(body: bytes) -> int:
    """Commas and opening brackets outside strings, counted at C speed, never per byte:
    exact past `MAX_JSON_VALUES`, below it perhaps some from inside strings too.

    Only a body whose whole count passes the limit has its strings cut out. Every
    string is a key or a value, so a body within the limit has at most about twice as
    many strings; the cut stops there, as a body of more strings is over it anyway.
    """
    rough = body.count(b",") + body.count(b"[") + body.count(b"{")
    if rough <= MAX_JSON_VALUES:
        return rough
    # Escapes are pairs read left to right, so dropping `\\` then `\"` leaves exactly
    # the quotes that open and close strings (in JSON that is valid at all).
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    most_quotes = 4 * (MAX_JSON_VALUES + 2)
    pieces = unescaped.split(b'"', most_quotes)
    if len(pieces) > most_quotes:
        return MAX_JSON_VALUES + 1
    outside = b"".join(pieces[::2])
    return outside.count(b",") + outside.count(b"[") + outside.count(b"{")


def parse_json(body: bytes) -> Any:
    """Strict JSON: every refusal is a `JSONDecodeError`, which FastAPI answers as 400."""
    try:
        text = body.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("not UTF-8", "", exc.start) from exc
    if _separators(body) > MAX_JSON_VALUES:
        raise json.JSONDecodeError(f"more than {MAX_JSON_VALUES} values", "", 0)
    try:
        return json.loads(
            text,
            parse_int=_integer,
            parse_float=_fraction,
            parse_constant=_no_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise json.JSONDecodeError("nesting too deep", "", 0) from exc
    except ValueError as exc:  # a refused number, constant or object
        raise json.JSONDecodeError(str(exc), "", 0) from exc


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
