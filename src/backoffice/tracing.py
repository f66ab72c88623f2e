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
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, get_current_span
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.middleware import route_template
from backoffice.telemetry import TRACES_DROPPED, current_tracer, use_tracer

logger = logging.getLogger("backoffice.tracing")

DEFAULT_SERVICE_NAME = "backoffice"
TRACER_NAME = "backoffice"
SHUTDOWN_SECONDS = 5.0
"""How long stopping waits for the last spans to leave: a collector that is down must not
hold a rolling restart."""


class Tracing:
    """The tracer provider of one running app, started and stopped by its lifespan."""

    def __init__(
        self,
        provider: TracerProvider,
        engine: AsyncEngine,
        statement_hooks: tuple[tuple[str, Callable[..., bool]], ...],
    ) -> None:
        self.provider = provider
        self.engine = engine
        self.statement_hooks = statement_hooks
        self._record_factory = logging.getLogRecordFactory()

    @classmethod
    def start(cls, engine: AsyncEngine) -> "Tracing":
        """The provider from the environment; spans, statement hooks and log ids on."""
        # OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) overrides it.
        named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        )
        resource = HashedResource(
            Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})
        )
        provider = TracerProvider(resource=resource)
        processor = CountingBatchSpanProcessor(CountingExporter(OTLPSpanExporter()))
        provider.add_span_processor(processor)
        tracing = cls(provider, engine, StatementSpans(provider, processor).hooks())
        use_tracer(provider.get_tracer(TRACER_NAME))
        logging.setLogRecordFactory(with_trace_ids(tracing._record_factory))
        for name, hook in tracing.statement_hooks:
            event.listen(engine.sync_engine, name, hook)
        logger.info("tracing on", extra={"service": resource.attributes.get(SERVICE_NAME)})
        return tracing

    async def stop(self) -> None:
        """Hooks off, then the last spans flushed in a thread, `SHUTDOWN_SECONDS` at most."""
        for name, hook in self.statement_hooks:
            event.remove(self.engine.sync_engine, name, hook)
        logging.setLogRecordFactory(self._record_factory)
        use_tracer(None)
        with anyio.move_on_after(SHUTDOWN_SECONDS):
            await anyio.to_thread.run_sync(self.provider.shutdown, abandon_on_cancel=True)


class HashedResource(Resource):
    """The resource, hashed once: the OTLP encoder groups every exported span by its
    resource, and the SDK's `Resource` hashes its attributes as sorted JSON each time
    (~15% of the exporter thread's CPU per span, and it holds the GIL)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


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


class StatementSpans:
    """A client span per statement of the app's engine, from dialect `do_execute*` hooks
    that run the statement themselves.

    Timed inside one call, so the span can be made finished and handed straight to the
    batch processor: a statement span has no children, events or later attributes, and
    the SDK's live span (sampler, locks, attribute validation, a copy at its end) cost
    it about three times as much for nothing. Its sampling follows its parent's, which
    every built-in sampler does for a child of a sampled span; only inside a recorded
    span: the notification sweeper's polls and unsampled requests start none.
    """

    def __init__(self, provider: TracerProvider, processor: SpanProcessor) -> None:
        self.processor = processor
        self.resource = provider.resource
        self.new_span_id = provider.id_generator.generate_span_id
        self.scope = InstrumentationScope(TRACER_NAME)

    def hooks(self) -> tuple[tuple[str, Callable[..., bool]], ...]:
        return tuple(
            (method, self.traced(method))
            for method in ("do_execute", "do_execute_no_params", "do_executemany")
        )

    def traced(self, method: str) -> Callable[..., bool]:
        def execute(cursor: object, statement: str, *rest: Any) -> bool:
            # `rest`: the parameters, unless `do_execute_no_params`, then the context.
            parent = get_current_span()
            if not parent.is_recording():
                return False
            status = UNSET
            start = time.time_ns()
            try:
                getattr(rest[-1].dialect, method)(cursor, statement, *rest)
            except BaseException as exc:
                status = Status(StatusCode.ERROR, type(exc).__name__)
                raise
            finally:
                self.end(parent.get_span_context(), statement, start, status)
            return True

        return execute

    def end(self, parent: SpanContext, statement: str, start: int, status: Status) -> None:
        words = statement.split(None, 1)
        context = SpanContext(
            parent.trace_id,
            self.new_span_id(),
            is_remote=False,
            trace_flags=parent.trace_flags,
            trace_state=parent.trace_state,
        )
        self.processor.on_end(
            ReadableSpan(
                words[0].upper() if words else "SQL",
                context=context,
                parent=parent,
                resource=self.resource,
                # Two attributes: each one costs every statement's span to make and to
                # encode. The statement as sent: values travel apart, as bind parameters.
                attributes={"db.system": "postgresql", "db.query.text": statement},
                kind=SpanKind.CLIENT,
                status=status,
                start_time=start,
                end_time=time.time_ns(),
                instrumentation_scope=self.scope,
            )
        )


UNSET = Status(StatusCode.UNSET)


NO_PARENT = otel_context.Context()
"""A request without a caller's trace context starts a trace of its own."""


class TracingMiddleware:
    """The server span of each request.

    Outermost, so the access-log line and every line written while the request runs
    carry its ids. The span ends when the last byte of the response is handed to the
    server: after-response work (notification delivery) is a later child of it, not
    part of its duration.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.propagator = propagate.get_global_textmap()
        # The headers the propagators (`OTEL_PROPAGATORS`) read, as ASGI spells them.
        self.fields = frozenset(field.lower().encode("latin-1") for field in self.propagator.fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = current_tracer()
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        # Most requests carry no trace context: no carrier to build, nothing to extract.
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in self.fields
        }
        parent = self.propagator.extract(carrier) if carrier else NO_PARENT
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
    attributes: dict[str, str | int] = {}
    route = route_template(scope)
    if route != "<unmatched>":
        server_span.update_name(f"{scope['method']} {route}")
        attributes["http.route"] = route
    if status is not None:
        attributes["http.response.status_code"] = status
        if status >= 500:
            server_span.set_status(StatusCode.ERROR)
    user_id = scope.get("state", {}).get("user_id")
    if user_id is not None:
        attributes["user.id"] = str(user_id)
    server_span.set_attributes(attributes)
    server_span.end()
