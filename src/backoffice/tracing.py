"""OpenTelemetry traces over OTLP/HTTP; imported only when tracing is configured.

The SDK reads the standard `OTEL_*` variables itself: service name and resource
attributes, sampler, batch processor, exporter endpoint, headers, timeout, compression.
What is traced: one server span per request named `METHOD /route/template`, continuing
the caller's W3C `traceparent`; a client span per database statement of the app's
engine; and whatever is wrapped in `backoffice.telemetry.span()` (bcrypt waits, the
after-response delivery of notifications). Every log line written inside a span
carries its `trace_id` and `span_id`.
"""

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, SpanKind, StatusCode, get_current_span
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.middleware import route_template
from backoffice.telemetry import TRACES_DROPPED, current_tracer, use_tracer

logger = logging.getLogger("backoffice.tracing")

DEFAULT_SERVICE_NAME = "backoffice"
SHUTDOWN_SECONDS = 5.0
"""How long stopping waits for the last spans to leave: a collector that is down must not
hold a rolling restart."""


class Tracing:
    """The tracer provider of one running app, started and stopped by its lifespan."""

    def __init__(self, provider: TracerProvider, engine: AsyncEngine) -> None:
        self.provider = provider
        self.engine = engine
        self._record_factory = logging.getLogRecordFactory()

    @classmethod
    def start(cls, engine: AsyncEngine) -> "Tracing":
        """The provider from the environment; spans, statement hooks and log ids on."""
        # OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) overrides it.
        named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        )
        resource = Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(
            CountingBatchSpanProcessor(CountingExporter(OTLPSpanExporter()))
        )
        tracing = cls(provider, engine)
        use_tracer(provider.get_tracer("backoffice"))
        logging.setLogRecordFactory(with_trace_ids(tracing._record_factory))
        for name, hook in STATEMENT_HOOKS:
            event.listen(engine.sync_engine, name, hook)
        logger.info("tracing on", extra={"service": resource.attributes.get(SERVICE_NAME)})
        return tracing

    async def stop(self) -> None:
        """Hooks off, then the last spans flushed in a thread, `SHUTDOWN_SECONDS` at most."""
        for name, hook in STATEMENT_HOOKS:
            event.remove(self.engine.sync_engine, name, hook)
        logging.setLogRecordFactory(self._record_factory)
        use_tracer(None)
        with anyio.move_on_after(SHUTDOWN_SECONDS):
            await anyio.to_thread.run_sync(self.provider.shutdown, abandon_on_cancel=True)


class CountingExporter(SpanExporter):
    """The OTLP exporter, counting the spans of each batch it could not deliver."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.exporter.export(spans)
        except Exception:
            logger.exception("span export failed")
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            TRACES_DROPPED.labels("export_failed").inc(len(spans))
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor (`OTEL_BSP_*`), counting the spans it drops because its
    queue is full: the SDK itself only logs them."""

    def on_end(self, span: ReadableSpan) -> None:
        batch = self._batch_processor
        context = span.context
        sampled = context is not None and context.trace_flags.sampled
        if sampled and len(batch._queue) >= batch._max_queue_size:
            TRACES_DROPPED.labels("queue_full").inc()
        super().on_end(span)


def with_trace_ids(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory adding the current span's ids (hex) to every record made
    inside one; the JSON formatter writes them beside the other fields."""

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        context = get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return record

    return make_record


SPAN_KEY = "backoffice.tracing.span"
"""Where a statement's span waits for its end: the connection's info dict (a connection
runs one statement at a time)."""


def before_cursor_execute(
    conn: Connection,
    cursor: object,
    statement: str,
    parameters: object,
    context: object,
    executemany: bool,
) -> None:
    """A client span, only inside a recorded span: the notification sweeper's polls and
    unsampled requests start none."""
    tracer = current_tracer()
    if tracer is None or not get_current_span().is_recording():
        # A span a cancelled statement left behind is no later statement's.
        conn.info.pop(SPAN_KEY, None)
        return
    words = statement.split(None, 1)
    operation = words[0].upper() if words else "SQL"
    conn.info[SPAN_KEY] = tracer.start_span(
        operation,
        kind=SpanKind.CLIENT,
        # Two attributes: each one costs every statement's span to make and to encode.
        # The statement as sent: values travel apart, as bind parameters ($1, $2...).
        attributes={"db.system": "postgresql", "db.query.text": statement},
    )


def after_cursor_execute(conn: Connection, *_: object) -> None:
    statement_span: Span | None = conn.info.pop(SPAN_KEY, None)
    if statement_span is not None:
        statement_span.end()


def handle_error(context: ExceptionContext) -> None:
    connection = context.connection
    statement_span: Span | None = (
        connection.info.pop(SPAN_KEY, None) if connection is not None else None
    )
    if statement_span is not None:
        statement_span.set_status(StatusCode.ERROR, type(context.original_exception).__name__)
        statement_span.end()


STATEMENT_HOOKS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_cursor_execute", before_cursor_execute),
    ("after_cursor_execute", after_cursor_execute),
    ("handle_error", handle_error),
)


class TracingMiddleware:
    """The server span of each request.

    Outermost, so the access-log line and every line written while the request runs
    carry its ids. The span ends when the last byte of the response is handed to the
    server: after-response work (notification delivery) is a later child of it, not
    part of its duration.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = current_tracer()
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        parent = propagate.extract(
            {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        )
        server_span = tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        token = otel_context.attach(trace.set_span_in_context(server_span, parent))
        status: int | None = None

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                end_server_span(server_span, scope, status)

        try:
            await self.app(scope, receive, send_traced)
        except Exception as exc:
            server_span.record_exception(exc)
            raise
        finally:
            end_server_span(server_span, scope, status)
            otel_context.detach(token)


def end_server_span(server_span: Span, scope: Scope, status: int | None) -> None:
    """Name and attributes known only once routed and answered; idempotent."""
    if not server_span.is_recording():
        return
    route = route_template(scope)
    if route != "<unmatched>":
        server_span.update_name(f"{scope['method']} {route}")
        server_span.set_attribute("http.route", route)
    if status is not None:
        server_span.set_attribute("http.response.status_code", status)
        if status >= 500:
            server_span.set_status(StatusCode.ERROR)
    user_id = scope.get("state", {}).get("user_id")
    if user_id is not None:
        server_span.set_attribute("user.id", str(user_id))
    server_span.end()
