"""Tracing hooks any module may call, free while tracing is off.

Tracing is on when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`, or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `OTEL_SDK_DISABLED` is not `true`; then the
app's lifespan starts `backoffice.tracing`, which alone imports OpenTelemetry. While it
is off nothing of OpenTelemetry is imported: `span()` hands back one shared no-op
context manager.
"""

import contextlib
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

TRACES_DROPPED = Counter(
    "backoffice_traces_dropped",
    "Finished spans that never reached the collector: the export queue was full "
    "(queue_full), or the collector refused them or could not be reached (export_failed)",
    ["reason"],
)
for _reason in ("queue_full", "export_failed"):
    TRACES_DROPPED.labels(_reason)

NO_SPAN: AbstractContextManager[None] = contextlib.nullcontext()
"""What `span()` returns while tracing is off: one object, reused, that does nothing."""

_tracer: "Tracer | None" = None


def tracing_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process exports traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def span(name: str, **attributes: str | int | float | bool) -> AbstractContextManager[object]:
    """A child span of the current one around a `with` block, or a no-op while off.

    One line at the call site: `with span("mail.send", mail_id=mail.id): ...`.
    """
    if _tracer is None:
        return NO_SPAN
    return _tracer.start_as_current_span(name, attributes=attributes)


def current_tracer() -> "Tracer | None":
    return _tracer


def use_tracer(tracer: "Tracer | None") -> None:
    """Set by `backoffice.tracing` when an app starts tracing, and reset when it stops."""
    global _tracer
    _tracer = tracer
