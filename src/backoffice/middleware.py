"""Pure ASGI middleware: no `BaseHTTPMiddleware`, which costs throughput and breaks streaming."""

import logging
import re
import time
import uuid
from typing import Any

import anyio
from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.errors import PayloadTooLarge, error_response, internal_error_response
from backoffice.metrics import observe_request

access_logger = logging.getLogger("backoffice.access")
error_logger = logging.getLogger("backoffice.errors")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
MULTIPART_OVERHEAD_BYTES = 64 * 1024
CLOSE = {"Connection": "close"}


def draining(scope: Scope) -> bool:
    app = scope.get("app")
    return bool(getattr(getattr(app, "state", None), "draining", False))


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (lower-case `name`), if sent."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def route_template(scope: Scope) -> str:
    """The matched route's full path template, so metrics and logs do not explode by id.

    FastAPI >= 0.16x resolves included routers lazily: `scope["route"].path` lacks the
    include prefix, while the effective route context it records has the full template.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    path: str | None = getattr(context, "path_format", None) or getattr(
        scope.get("route"), "path", None
    )
    return path if path is not None else "<unmatched>"


class RequestContextMiddleware:
    """Request id, timing, security headers, one JSON access-log line, and the last-resort 500.

    The 500 is produced here rather than by Starlette's outermost error middleware so
    that it carries the same `X-Request-ID` as every other response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Process-Time"] = f"{time.perf_counter() - started:.6f}"
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if draining(scope):
                    # Keep-alive connections close after this response, so the load
                    # balancer opens new ones, to replicas that still accept them.
                    headers["Connection"] = "close"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_logger.exception("unhandled error", extra={"request_id": request_id})
            if response_started:
                raise
            await internal_error_response(request_id)(scope, receive, send_with_headers)
        finally:
            self._log(scope, status, started, request_id)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if REQUEST_ID_PATTERN.match(candidate):
                    return candidate
        return uuid.uuid4().hex

    @staticmethod
    def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = route_template(scope)
        observe_request(scope["method"], route, status, seconds)
        if not access_logger.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
            "user_id": scope.get("state", {}).get("user_id"),
            # uvicorn has already replaced the peer with X-Forwarded-For's client when the
            # peer is in FORWARDED_ALLOW_IPS, so this is the client as the balancer saw it.
            "client": client[0] if client else None,
            "user_agent": header(scope, b"user-agent"),
        }
        access_logger.info(
            "%s %s %s %s %.1fms",
            fields["client"],
            fields["method"],
            route,
            status,
            fields["duration_ms"],
            extra=fields,
        )


class BodyReadTimeoutMiddleware:
    """408 and a closed connection for a body that sends nothing for `timeout_seconds`.

    A trickling client otherwise holds its socket (and a task) for ever. Only the body
    is timed: once it is complete, waiting for a disconnect (as streaming responses
    do) may take as long as it takes.
    """

    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            with anyio.move_on_after(self.timeout_seconds) as waited:
                message = await receive()
            if waited.cancelled_caught:
                # An HTTPException, because FastAPI turns any other error raised
                # while it reads the body into a 400.
                raise HTTPException(408, "Request body not received in time", CLOSE)
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        await self.app(scope, timed_receive, send)


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, announced by `Content-Length` or found while streaming.

    Every body gets `max_body_bytes`, except a POST to an upload path, which gets
    `max_upload_bytes` plus room for the multipart framing (the files module enforces
    the exact file limit itself). The upload limit follows the path, not the declared
    content type, so a JSON route cannot be fed 10 MiB by calling it multipart.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_paths: frozenset[str],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = self._content_length(scope)
        if declared is not None and declared > limit:
            await self._reject(scope, receive, send)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, because FastAPI turns any other error raised
                    # while it reads the body into a 400.
                    raise HTTPException(PayloadTooLarge.status_code, PayloadTooLarge.message)
            return message

        await self.app(scope, limited_receive, send)

    def _limit_for(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"].rstrip("/") in self.upload_paths:
            return self.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
        return self.max_body_bytes

    @staticmethod
    def _content_length(scope: Scope) -> int | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id")
        too_large = PayloadTooLarge()
        response = error_response(
            request_id, too_large.status_code, too_large.code, too_large.detail
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
