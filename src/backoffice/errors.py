"""Domain exceptions and the one place that turns them into HTTP responses.

Every error body has the same shape: `{"detail": ..., "code": "<snake_case>",
"request_id": "..."}`. A 422 adds `errors_left_off`: its `detail` lists at most
`MAX_LISTED_ERRORS` of FastAPI's error entries, and that field counts the rest, so a
body of thousands of unknown keys gets a short answer. Services raise the exceptions
below; nothing under a router raises `HTTPException`.
"""

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ExceptionHandler

logger = logging.getLogger("backoffice.errors")

DB_RETRY_AFTER_SECONDS = 5

EXAMPLE_REQUEST_ID = "5f0c6d2e8a9b4c71b3e2d4f6a8c0e1f2"


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "Bad request"

    @classmethod
    def example(cls) -> dict[str, Any]:
        """The body a client sees, for the OpenAPI document's examples."""
        return {"detail": cls.message, "code": cls.code, "request_id": EXAMPLE_REQUEST_ID}

    def __init__(self, detail: Any = None, *, headers: Mapping[str, str] | None = None) -> None:
        self.detail = self.message if detail is None else detail
        self.headers = dict(headers or {})
        super().__init__(str(self.detail))


class BadRequest(DomainError):
    pass


class MalformedBody(BadRequest):
    """A body that is no JSON at all (FastAPI's `json_invalid`)."""

    code = "malformed_body"
    message = "Malformed JSON body"


class ClientDisconnected(BadRequest):
    """The client went away mid-body: no one reads the answer, and it is no server error."""

    code = "client_disconnected"
    message = "Client disconnected before the body was read"


class Unauthorized(DomainError):
    status_code = 401
    code = "not_authenticated"
    message = "Could not validate credentials"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    message = "Not allowed"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    message = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    message = "Conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    message = "Request body too large"


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Unsupported media type"


class InvalidInput(DomainError):
    """A rule that needs the database to check, reported like a validation error."""

    status_code = 422
    code = "validation_error"
    message = "Validation error"

    def __init__(self, loc: Sequence[str | int], msg: str, kind: str = "value_error") -> None:
        super().__init__([{"loc": list(loc), "msg": msg, "type": kind}])

    @classmethod
    def example(cls) -> dict[str, Any]:
        entry = {
            "loc": ["body", "email"],
            "msg": "value is not a valid email address: An email address must have an @-sign.",
            "type": "value_error",
            "input": "ada.example.com",
        }
        return {**super().example(), "detail": [entry], "errors_left_off": 0}


class Throttled(DomainError):
    status_code = 429
    code = "too_many_requests"
    message = "Too many attempts, try again later"

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(headers={"Retry-After": str(max(1, math.ceil(retry_after_seconds)))})


class RateLimited(Throttled):
    """A caller's request budget is spent (the rate limiter; the login throttle is `Throttled`)."""

    code = "rate_limited"
    message = "Too many requests, try again later"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
    message = "Service temporarily unavailable"

    def __init__(
        self, detail: Any = None, retry_after_seconds: int = DB_RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


class ErrorBody(BaseModel):
    """Every error: `detail` for people (a list of entries on a 422), `code` for programs to
    switch on, `request_id` to quote to support (the `X-Request-ID` header too)."""

    detail: Any
    code: str
    request_id: str | None


MAX_LISTED_ERRORS = 20


class ValidationErrorBody(ErrorBody):
    """A 422: the first errors, and how many more there were."""

    detail: list[dict[str, Any]] = Field(max_length=MAX_LISTED_ERRORS)
    errors_left_off: int = Field(
        ge=0, description=f"Errors found beyond the {MAX_LISTED_ERRORS} listed in `detail`"
    )


ERROR_DESCRIPTIONS = {
    400: "Malformed body",
    401: "Missing, invalid or expired token",
    403: "Authenticated but not allowed",
    404: "Not found, or not yours",
    409: "Conflict",
    413: "Body or upload too large",
    415: "Unsupported upload type",
    422: "Validation error",
    429: "Throttled; see Retry-After",
    503: "Database unavailable or draining; see Retry-After",
}


FRAMEWORK_ERRORS: dict[int, type[DomainError]] = {
    error.status_code: error
    for error in (
        MalformedBody,
        Unauthorized,
        PayloadTooLarge,
        InvalidInput,
        RateLimited,
        ServiceUnavailable,
    )
}
"""The error a status alone stands for in `error_responses`: the one the framework
itself answers with (a body it cannot read, a missing token, a validation error, a
spent budget); any other error a route names by its class."""

Responses = dict[int | str, dict[str, Any]]


def error_responses(*errors: int | type[DomainError]) -> Responses:
    """The documented error responses of a route: per status, one example per `code`.

    `openapi.py` turns the examples' codes into the `code` enum of each response, so the
    document lists exactly the codes a route declares here.
    """
    responses: Responses = {}
    for declared in errors:
        if isinstance(declared, int) and declared not in FRAMEWORK_ERRORS:
            raise TypeError(f"name the DomainError class a route answers {declared} with")
        error = FRAMEWORK_ERRORS[declared] if isinstance(declared, int) else declared
        example = {"summary": error.message, "value": error.example()}
        responses = merge_responses(
            responses,
            {
                error.status_code: {
                    "model": ValidationErrorBody if error.status_code == 422 else ErrorBody,
                    "description": ERROR_DESCRIPTIONS[error.status_code],
                    "content": {"application/json": {"examples": {error.code: example}}},
                }
            },
        )
    return responses


def merge_responses(*parts: Responses) -> Responses:
    """`{**a, **b}` one level deeper: both parts' examples (codes) of a status survive."""
    merged: Responses = {}
    for part in parts:
        for status, response in part.items():
            merged[status] = _deep_merge(merged.get(status, {}), response)
    return merged


def _deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


DATABASE_ERRORS = (OSError, sa_exc.TimeoutError, sa_exc.DBAPIError)
"""Everything a database call may raise: readiness treats any of them as not ready."""

UNAVAILABLE_SQLSTATES = frozenset(
    {
        "53300",  # too_many_connections
        "57014",  # query_canceled: statement_timeout
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up or shutting down
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
    }
)


def database_unavailable(exc: BaseException) -> bool:
    """A failure that a retry in a moment may not meet: 503, not 500."""
    if isinstance(exc, OSError | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    return sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


BACKGROUND_ON_ERROR = "background_on_error"


def keep_background_on_error(request: Request, tasks: BackgroundTasks) -> None:
    """Run `tasks` after the response even when the request ends in a domain error.

    Starlette drops a route's background tasks when the route raises; work committed
    before a deliberate refusal (a refresh-token reuse commits the revocation, then
    answers 401) still has follow-ups to run.
    """
    request.scope.setdefault("state", {})[BACKGROUND_ON_ERROR] = tasks


def request_id_of(request: Request) -> str | None:
    """The id the request middleware stored for this request."""
    rid: str | None = request.scope.get("state", {}).get("request_id")
    return rid


def error_response(
    request_id: str | None,
    status_code: int,
    code: str,
    detail: Any,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"detail": jsonable_encoder(detail), "code": code, "request_id": request_id}
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def validation_error_response(
    request_id: str | None,
    code: str,
    errors: Sequence[Any],
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A 422: the first `MAX_LISTED_ERRORS` entries, made safe, and the count of the rest."""
    body = {
        "detail": jsonable_encoder([_safe_error(err) for err in errors[:MAX_LISTED_ERRORS]]),
        "code": code,
        "request_id": request_id,
        "errors_left_off": max(0, len(errors) - MAX_LISTED_ERRORS),
    }
    return JSONResponse(body, status_code=422, headers=dict(headers or {}))


def internal_error_response(request_id: str | None) -> JSONResponse:
    """The 500 body: a generic message, the trace stays in the log."""
    return error_response(request_id, 500, "internal_error", "Internal server error")


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    rid = request_id_of(request)
    response = (
        validation_error_response(rid, exc.code, exc.detail, exc.headers)
        if isinstance(exc, InvalidInput)
        else error_response(rid, exc.status_code, exc.code, exc.detail, exc.headers)
    )
    response.background = request.scope.get("state", {}).get(BACKGROUND_ON_ERROR)
    return response


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for err in errors:
        if err.get("type") == "json_invalid":
            reason = err.get("ctx", {}).get("error", "not JSON")
            detail = f"Malformed JSON body: {reason}"
            return error_response(request_id_of(request), 400, MalformedBody.code, detail)
    return validation_error_response(request_id_of(request), "validation_error", errors)


MAX_ECHOED_CHARS = 200


SECRET_NAME_PARTS = ("password", "token", "secret", "key", "authorization")


def _safe_error(error: Any) -> dict[str, Any]:
    """FastAPI's error entry, made safe to send back.

    The rejected `input` is echoed only when it cannot be a secret: a scalar of a named
    field, cut to 200 characters, with unpaired surrogates escaped (they cannot be
    encoded as UTF-8) and non-finite floats as strings (JSON has none). Never a whole
    body (a bare JSON string may be a password), never an unknown field's value, never
    a field whose name says password, token, secret or key. The names in `loc` are cut
    the same way: an unknown key of a megabyte is no megabyte of answer.
    """
    safe = {k: v for k, v in error.items() if k not in {"input", "ctx"}}
    safe["loc"] = [_scalar(part) for part in error.get("loc", ())]
    if isinstance(error.get("ctx"), dict) and all(
        isinstance(v, str | int | float) for v in error["ctx"].values()
    ):
        safe["ctx"] = {k: _scalar(v) for k, v in error["ctx"].items()}
    if _may_echo(error):
        safe["input"] = _scalar(error.get("input"))
    return safe


def _may_echo(error: Any) -> bool:
    loc = [str(part).lower() for part in error.get("loc", ())]
    value = error.get("input")
    return (
        len(loc) >= 2
        and error.get("type") != "extra_forbidden"
        and not any(secret in part for part in loc for secret in SECRET_NAME_PARTS)
        and (value is None or isinstance(value, str | int | float | bool))
    )


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()[:MAX_ECHOED_CHARS]
    return value


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(request_id_of(request), exc.status_code, code, exc.detail, headers)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path: Starlette names only the first route's."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """503 with `Retry-After` for an outage, a timeout or an exhausted pool; else a 500."""
    if not database_unavailable(exc):
        logger.error("database error", exc_info=exc, extra={"request_id": request_id_of(request)})
        return internal_error_response(request_id_of(request))
    logger.warning("database unavailable: %r", exc)
    return await _domain_error(request, ServiceUnavailable("Database unavailable, retry later"))


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types handlers as taking any Exception; each of these is registered
    # only for the class it declares, hence the casts.
    app.add_exception_handler(DomainError, cast(ExceptionHandler, _domain_error))
    app.add_exception_handler(RequestValidationError, cast(ExceptionHandler, _validation_error))
    app.add_exception_handler(StarletteHTTPException, cast(ExceptionHandler, _http_error))
    for exc_type in DATABASE_ERRORS:
        app.add_exception_handler(exc_type, _database_error)
