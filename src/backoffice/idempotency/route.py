"""`IdempotentRoute`: the route class that gives creating POSTs their `Idempotency-Key`.

Routers whose POST routes create something (status 201 or 202) use it as their
`route_class`. Such a route documents the header and, when a signed-in caller sends it,
replays the first response (status and body) for the same key within 24 h instead of
doing the work again; the same key with a different body is 422. Responses of 5xx, and
errors raised by the route, release the key, so a retry does the work.

With a key, the body is read before the route runs, to compare it with the first
attempt's: an upload is then buffered (at most `MAX_UPLOAD_BYTES` plus framing, the
body limit) instead of streamed. The caller is checked (valid token, active user)
before any byte is read.
"""

import hashlib
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio
from fastapi import Depends, Header, Request, Response
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect

from backoffice.db import sessionmaker_of
from backoffice.errors import ClientDisconnected, error_responses, merge_responses
from backoffice.idempotency.service import IdempotencyService, KeyInUse, StoredResponse
from backoffice.json_body import BodyRoute
from backoffice.security import bearer_token

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
CREATING_STATUSES = frozenset({201, 202})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=KEY_PATTERN,
            description="Retry-safe key: the same key within 24 h replays the first response "
            "(`Idempotent-Replayed: true`), also when what it created was deleted since; "
            "the same key with another body is 422; a key still in use is 409",
        ),
    ] = None,
) -> str | None:
    """Validates and documents the header; the route class does the work."""
    return key


def digest_of(head: str, content_type: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body.

    A multipart body is compared without its boundary, which clients draw afresh for
    every attempt.
    """
    digest = hashlib.sha256(head.encode())
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if boundary:
        body = body.replace(boundary, b"")
    digest.update(body)
    return digest.hexdigest()


async def request_digest(request: Request) -> str:
    """Hashed in a worker thread: a 10 MiB upload takes ~16 ms of CPU."""
    try:
        body = await request.body()
    except ClientDisconnect as exc:
        raise ClientDisconnected() from exc
    head = f"{request.method} {request.url.path}\n"
    content_type = request.headers.get("content-type", "")
    return await anyio.to_thread.run_sync(digest_of, head, content_type, body)


IDEMPOTENCY_KEY = Depends(idempotency_key)


class IdempotentRoute(BodyRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        self.idempotent = "POST" in methods and kwargs.get("status_code") in CREATING_STATUSES
        if self.idempotent:
            dependencies = list(kwargs.get("dependencies") or [])
            if IDEMPOTENCY_KEY not in dependencies:  # a copy of the route has it already
                dependencies.append(IDEMPOTENCY_KEY)
            kwargs["dependencies"] = dependencies
            kwargs["responses"] = merge_responses(
                error_responses(KeyInUse), kwargs.get("responses") or {}
            )
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if not self.idempotent:
            return handler

        async def idempotent_handler(request: Request) -> Response:
            key = request.headers.get(HEADER)
            token = bearer_token(request.scope)
            if key is None or token is None or not re.match(KEY_PATTERN, key):
                return await handler(request)
            keys = IdempotencyService(sessionmaker_of(request), request.app.state.settings)
            user_id = await keys.caller(token, request.app.state.verified_tokens)
            if user_id is None:
                return await handler(request)  # its own auth dependency answers 401
            claim = await keys.begin(user_id, key, await request_digest(request))
            if isinstance(claim, StoredResponse):
                headers = {"Idempotent-Replayed": "true"}
                if claim.content_type:
                    headers["Content-Type"] = claim.content_type
                return Response(claim.body, status_code=claim.status_code, headers=headers)
            try:
                response = await handler(request)
            except BaseException:
                await keys.release(claim)
                raise
            body = getattr(response, "body", None)
            if response.status_code >= 500 or not isinstance(body, bytes):
                await keys.release(claim)
            else:
                await keys.complete(claim, response.status_code, response.headers, body)
            return response

        return idempotent_handler
