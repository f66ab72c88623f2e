"""The app factory: lifespan, middleware, routers and error handlers."""

import gc
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.accounts.router import router as accounts_router
from backoffice.auth.router import router as auth_router
from backoffice.db import Database, create_engine, create_probe_engine, warn_on_statement_timeout
from backoffice.employees.router import router as employees_router
from backoffice.errors import install_error_handlers, merge_responses
from backoffice.files.router import router as files_router
from backoffice.health.router import router as health_router
from backoffice.health.service import Readiness
from backoffice.items.router import router as items_router
from backoffice.log import configure_logging
from backoffice.mail.backends import backend_of
from backoffice.mail.delivery import SEND_DEADLINE_STEPS, MailDelivery, MailSweeper
from backoffice.middleware import (
    BodyReadTimeoutMiddleware,
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
)
from backoffice.notifications.delivery import NotificationDelivery, NotificationSweeper
from backoffice.notifications.router import router as notifications_router
from backoffice.openapi import DESCRIPTION, TAGS, install_openapi
from backoffice.ratelimit import (
    RATE_LIMITED_RESPONSES,
    RateLimitMiddleware,
    RateLimitTables,
    WindowCounters,
    rate_limit_tables,
)
from backoffice.security import PasswordHasher, VerifiedTokens
from backoffice.settings import Settings, get_settings
from backoffice.telemetry import tracing_configured
from backoffice.users.router import router as users_router

if TYPE_CHECKING:
    from backoffice.ratelimit_store import SharedCounters
    from backoffice.tracing import Tracing

API_PREFIX = "/api/v1"


EXPOSED_HEADERS = [
    "X-Request-ID",  # every response
    "X-Process-Time",
    "RateLimit-Policy",  # every response under a request budget
    "RateLimit",
    "Retry-After",  # 429 and 503
    "Idempotent-Replayed",  # a replayed keyed POST
    "WWW-Authenticate",  # 401
    "Allow",  # 405
    "ETag",  # file and image downloads
    "Content-Disposition",
]
"""The response headers a browser client may read besides the CORS-safelisted ones
(`Cache-Control`, `Content-Length`, `Content-Type`, `Pragma`, ...): every other one a
client needs that the service sends."""

NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Read once, so the middleware and the lifespan agree; while it is off the SDK is
    # never imported.
    traced = tracing_configured()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        tracing = start_tracing(engine) if traced else None
        await warn_on_statement_timeout(engine, settings)
        app.state.db = Database.of(engine, settings)
        probe_engine = create_probe_engine(settings)
        app.state.readiness = Readiness(probe_engine, settings.readiness_interval_seconds)
        await app.state.password_hasher.prepare_dummy()
        sweeper = NotificationSweeper(
            NotificationDelivery(app.state.db.write), settings.notification_sweep_seconds
        )
        app.state.notification_sweeper = sweeper
        sweeper.start()
        app.state.mail_delivery = MailDelivery(
            app.state.db.write,
            backend_of(settings),
            settings.smtp_timeout_seconds * SEND_DEADLINE_STEPS,
        )
        mail_sweeper = MailSweeper(app.state.mail_delivery, settings.mail_sweep_seconds)
        app.state.mail_sweeper = mail_sweeper
        mail_sweeper.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await mail_sweeper.stop()
            await sweeper.stop()
            if app.state.rate_limit_store is not None:
                await app.state.rate_limit_store.close()
            if tracing is not None:
                await tracing.stop()
            await engine.dispose()
            await probe_engine.dispose()

    # Swagger UI and ReDoc from assets inside the package: /docs works offline too.
    app = FastAPIOffline(
        # Metrics are Prometheus's (`/metrics`); FastAPI's own OpenTelemetry hooks, which
        # nothing here configures, asked for the global providers on every request.
        telemetry=NO_OPENTELEMETRY,
        title="backoffice",
        version="0.1.0",
        summary="Accounts, employees, a catalogue, files and notifications for mobile clients.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.settings = settings
    app.state.draining = False
    app.state.verified_tokens = VerifiedTokens()
    app.state.password_hasher = PasswordHasher.of(settings)
    app.state.rate_limit_store = None

    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.rate_limit_enabled:
        # Inside CORS, so a browser can read a 429; preflights are never counted.
        tables = rate_limit_tables(settings)
        app.state.rate_limit_tables = tables
        app.add_middleware(
            RateLimitMiddleware,
            settings=settings,
            tables=tables,
            tokens=app.state.verified_tokens,
            shared=shared_rate_limit_tables(app, settings, tables),
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_paths=frozenset({f"{API_PREFIX}/files"}),
    )
    app.add_middleware(
        BodyReadTimeoutMiddleware, timeout_seconds=settings.body_read_timeout_seconds
    )
    app.add_middleware(RequestContextMiddleware)
    if traced:
        from backoffice.tracing import TracingMiddleware

        app.add_middleware(TracingMiddleware)

    # A request is matched against the routes in order, ~3 µs a check: the hot reads'
    # modules first, FastAPI's own /openapi.json and /docs routes last.
    docs_routes = list(app.router.routes)
    for router in (
        items_router,
        users_router,
        auth_router,
        notifications_router,
        files_router,
        accounts_router,
        employees_router,
    ):
        add_routes(app, router, prefix=API_PREFIX, responses=RATE_LIMITED_RESPONSES)
    add_routes(app, health_router)
    add_head_routes(app)
    app.router.routes[:] = [route for route in app.router.routes if route not in docs_routes]
    app.router.routes.extend(docs_routes)
    return app


def shared_rate_limit_tables(
    app: FastAPI, settings: Settings, local: RateLimitTables[WindowCounters]
) -> "RateLimitTables[SharedCounters] | None":
    """The budgets in `RATE_LIMIT_STORAGE_URL`'s store, over `local` as their fallback."""
    if not settings.rate_limit_storage_url.get_secret_value():
        return None
    # Imported here: without a store, the Redis client is never loaded.
    from backoffice.ratelimit_store import shared_tables

    shared, app.state.rate_limit_store = shared_tables(settings, local)
    app.state.rate_limit_shared = shared
    return shared


def add_routes(
    app: FastAPI,
    router: APIRouter,
    prefix: str = "",
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """`include_router`, but each route joins the app's own list, as a new `APIRoute`.

    FastAPI 0.165 keeps an included router behind a wrapper that is matched lazily
    through effective-route contexts: walking those cost ~7% of the CPU of a cached
    `GET /items/{id}` (py-spy). Plain routes in one list are matched by their regex
    alone. Each route is rebuilt from its own fields, so the OpenAPI document and the
    behaviour are those of `include_router` (`tests/core/test_openapi.py` compares).
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an APIRoute")
        add_copy(
            app,
            route,
            path=prefix + route.path,
            responses=merge_responses(responses or {}, route.responses),
        )


def add_head_routes(app: FastAPI) -> None:
    """`HEAD` wherever `GET` is, as load balancers and monitors send it.

    FastAPI answers `HEAD` on a `GET` route with 405. Each `GET` route gets a twin that
    runs the same endpoint for `HEAD` (same status and headers; the server sends no
    body), out of the OpenAPI document, which would list it as an operation of its own.
    The twins come after every other route: a request is matched in order, so the
    routes in front of them cost no more, and limits, metrics and the access log see
    the `HEAD` with its route template as they see the `GET`.
    """
    for route in list(app.router.routes):
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            add_copy(app, route, methods={"HEAD"}, include_in_schema=False)


ROUTE_FIELDS = tuple(
    name
    for name in inspect.signature(APIRoute.__init__).parameters
    if name not in {"self", "dependency_overrides_provider"}  # the app's router sets it
)
"""Every field `APIRoute` is built from, read off its signature: a field a future FastAPI
adds is copied too, not silently dropped (and a field the route does not keep under its
own name fails at start-up, not in production)."""


def add_copy(app: FastAPI, route: APIRoute, **changes: Any) -> None:
    """A new `APIRoute` in the app's list, built from `route`'s fields and `changes`."""
    fields = {name: getattr(route, name) for name in ROUTE_FIELDS}
    app.router.add_api_route(**{**fields, "route_class_override": type(route), **changes})


def start_tracing(engine: AsyncEngine) -> "Tracing":
    """Imported here: while tracing is off, the SDK is never loaded."""
    from backoffice.tracing import Tracing

    return Tracing.start(engine)


def freeze_startup_objects() -> None:
    """Keep what start-up built out of every later garbage collection.

    Modules, the app, its routes and pydantic's and SQLAlchemy's caches live as long as
    the process, yet each full (generation 2) collection walked them all: in-process,
    five of them took 435 ms of 3,000 item reads, up to 136 ms each, a stall of every
    request in flight (the p99 of `make bench` at 64 connections). `gc.freeze()` moves
    them to a permanent generation that collections skip; objects made later are
    collected as before.
    """
    gc.collect()
    gc.freeze()


def create_worker_app() -> FastAPI:
    """The app of a uvicorn worker process (reload, or several workers).

    Such a process starts from a fresh interpreter and runs nothing of the CLI, so it
    reads its settings and configures logging itself.
    """
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
