"""Tracing off (no OTLP endpoint) costs nothing: the SDK is never loaded."""

import json
import os
import subprocess
import sys

from backoffice.settings import Settings
from backoffice.telemetry import NO_SPAN, span, tracing_configured

SERVE_TWO_REQUESTS = """
import json, sys
from starlette.testclient import TestClient
from backoffice.main import create_app
from backoffice.settings import Settings

app = create_app(Settings(app_env="test", database_url=sys.argv[1], rate_limit_enabled=False))
with TestClient(app) as client:
    statuses = [client.get("/health/live").status_code, client.get("/api/v1/items/1").status_code]
loaded = sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "backoffice.tracing")))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_without_an_endpoint_serving_never_loads_the_tracing_sdk(settings: Settings) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OTEL_")
    }
    # The same interpreter, and every variable the SDK would otherwise act on, but no
    # endpoint: nothing can be exported without the SDK loaded.
    environment |= {"OTEL_SERVICE_NAME": "backoffice-off", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    result = subprocess.run(
        [sys.executable, "-c", SERVE_TWO_REQUESTS, settings.database_url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"statuses": [200, 401], "loaded": []}


def test_span_is_one_shared_no_op_while_tracing_is_off() -> None:
    assert span("a") is span("b", attempt=2) is NO_SPAN
    with span("a"):
        pass


def test_an_endpoint_turns_tracing_on_unless_the_sdk_is_disabled() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert tracing_configured(endpoint)
    assert tracing_configured({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert not tracing_configured({"OTEL_SERVICE_NAME": "backoffice"})
    assert not tracing_configured({**endpoint, "OTEL_SDK_DISABLED": "true"})
