"""Traces from a real `backoffice serve` to a real OTLP/HTTP receiver, and logs joined
to them."""

import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backoffice.settings import Settings
from tests.conftest import PASSWORD
from tests.e2e.api import Member, sign_up, unique_email
from tests.e2e.conftest import free_port, serve, unavailable, wait_until_live
from tests.e2e.otlp import ReceivedSpan, Receiver
from tests.e2e.stack import Nginx, find_binary

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SpanKind
CLIENT_KIND = 3
ERROR_STATUS = 2  # Status.STATUS_CODE_ERROR
SERVICE_NAME = "backoffice-e2e"


class TracedServer:
    def __init__(self, base_url: str, log: Path) -> None:
        self.base_url = base_url
        self.log = log

    def log_lines(self) -> list[dict[str, object]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def start(settings: Settings, log: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    with log.open("w") as out:
        process = serve(
            settings,
            port,
            {"LOG_JSON": "true", "RATE_LIMIT_ENABLED": "false", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_live(base_url, process, timeout=120)
    return process, base_url


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def traced(
    settings: Settings, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TracedServer]:
    """Configured as the issue's probe does it: endpoint, service name, short delay."""
    log = tmp_path_factory.mktemp("traced") / "server.log"
    process, base_url = start(
        settings,
        log,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_SERVICE_NAME=SERVICE_NAME,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    try:
        yield TracedServer(base_url, log)
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def member(traced: TracedServer) -> Member:
    """Per test: every test starts from empty tables."""
    return sign_up(traced.base_url)


def traceparent() -> tuple[str, str, str]:
    """A sampled W3C traceparent header, its trace id and its parent span id."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def server_span(spans: list[ReceivedSpan]) -> ReceivedSpan:
    [span] = [span for span in spans if span.kind == SERVER_KIND]
    return span


def has_server_span(spans: list[ReceivedSpan]) -> bool:
    return any(span.kind == SERVER_KIND for span in spans)


def post(
    traced: TracedServer, path: str, body: dict[str, str], header: str, **headers: str
) -> httpx.Response:
    """POST `body` to the traced server's `path` within the trace `header` starts."""
    return httpx.post(
        f"{traced.base_url}{path}",
        json=body,
        headers={**headers, "traceparent": header},
        timeout=30,
    )


def create_item(traced: TracedServer, member: Member, header: str, name: str) -> int:
    body = {"name": name, "price": "3.50"}
    response = post(traced, "/api/v1/items", body, header, **member.headers)
    assert response.status_code == 201, response.text
    item_id: int = response.json()["id"]
    return item_id


def test_a_request_is_one_server_span_named_by_its_route_template(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    item_id = create_item(traced, member, traceparent()[0], f"span-{secrets.token_hex(4)}")
    header, trace_id, _ = traceparent()
    response = httpx.get(
        f"{traced.base_url}/api/v1/items/{item_id}",
        headers={**member.headers, "traceparent": header},
        timeout=30,
    )
    assert response.status_code == 200
    span = server_span(receiver.trace(trace_id, until=has_server_span))
    assert span.name == "GET /api/v1/items/{item_id}"
    assert span.service == SERVICE_NAME
    assert span.attributes["http.route"] == "/api/v1/items/{item_id}"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["user.id"] == str(response.json()["owner_id"])


def test_the_callers_traceparent_is_continued(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    header, trace_id, parent_id = traceparent()
    response = httpx.get(
        f"{traced.base_url}/api/v1/users/me",
        headers={**member.headers, "traceparent": header},
        timeout=30,
    )
    assert response.status_code == 200
    span = server_span(receiver.trace(trace_id, until=has_server_span))
    assert (span.trace_id, span.parent_span_id) == (trace_id, parent_id)


def test_each_database_statement_is_a_child_span_without_its_values(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    header, trace_id, _ = traceparent()
    name = f"secret-name-{secrets.token_hex(6)}"
    create_item(traced, member, header, name)

    def inserted(spans: list[ReceivedSpan]) -> bool:
        return has_server_span(spans) and any(s.name == "INSERT" for s in spans)

    spans = receiver.trace(trace_id, until=inserted)
    request = server_span(spans)
    statements = [s for s in spans if s.parent_span_id == request.span_id and s.kind == CLIENT_KIND]
    assert statements
    assert {s.attributes["db.system"] for s in statements} == {"postgresql"}
    insert = next(s for s in statements if s.name == "INSERT")
    assert "INSERT INTO items" in insert.attributes["db.query.text"]
    assert not [s for s in spans if name in str(s.attributes.get("db.query.text"))]


def test_a_statement_that_fails_is_an_error_span(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    name = f"taken-{secrets.token_hex(6)}"
    create_item(traced, member, traceparent()[0], name)
    header, trace_id, _ = traceparent()
    body = {"name": name, "price": "3.50"}
    response = post(traced, "/api/v1/items", body, header, **member.headers)
    assert response.status_code == 409, response.text

    def inserted(spans: list[ReceivedSpan]) -> bool:
        return has_server_span(spans) and any(s.name == "INSERT" for s in spans)

    [insert] = [s for s in receiver.trace(trace_id, until=inserted) if s.name == "INSERT"]
    assert insert.status_code == ERROR_STATUS


def test_notification_delivery_is_traced_under_the_request_that_queued_it(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    header, trace_id, _ = traceparent()
    create_item(traced, member, header, f"notify-{secrets.token_hex(4)}")

    def delivered(spans: list[ReceivedSpan]) -> bool:
        return has_server_span(spans) and any(s.name == "notifications.deliver" for s in spans)

    spans = receiver.trace(trace_id, until=delivered)
    delivery = next(s for s in spans if s.name == "notifications.deliver")
    assert delivery.parent_span_id == server_span(spans).span_id
    assert delivery.attributes["notifications"] == 1


def test_a_sign_in_traces_its_bcrypt_wait(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    header, trace_id, _ = traceparent()
    body = {"email": member.email, "password": PASSWORD}
    response = post(traced, "/api/v1/auth/login", body, header)
    assert response.status_code == 200

    def verified(spans: list[ReceivedSpan]) -> bool:
        return has_server_span(spans) and any(s.name == "bcrypt.verify" for s in spans)

    spans = receiver.trace(trace_id, until=verified)
    bcrypt_span = next(s for s in spans if s.name == "bcrypt.verify")
    assert bcrypt_span.parent_span_id == server_span(spans).span_id


def test_the_access_log_line_carries_the_trace_and_span_ids(
    traced: TracedServer, receiver: Receiver, member: Member
) -> None:
    header, trace_id, _ = traceparent()
    response = httpx.get(
        f"{traced.base_url}/api/v1/users/me",
        headers={**member.headers, "traceparent": header},
        timeout=30,
    )
    request_id = response.headers["X-Request-ID"]
    span = server_span(receiver.trace(trace_id, until=has_server_span))
    access = next(
        line
        for line in traced.log_lines()
        if line.get("request_id") == request_id and line["logger"] == "backoffice.access"
    )
    assert (access["trace_id"], access["span_id"]) == (trace_id, span.span_id)


def test_nginx_passes_the_traceparent_through(
    traced: TracedServer, receiver: Receiver, tmp_path: Path
) -> None:
    if find_binary("nginx") is None:
        unavailable("nginx not installed (make e2e-deps installs nginx-light)")
    port = int(traced.base_url.rsplit(":", 1)[1])
    nginx = Nginx(tmp_path, (port, port))
    nginx.start()
    try:
        header, trace_id, parent_id = traceparent()
        response = httpx.get(f"{nginx.base_url}/health/live", headers={"traceparent": header})
        assert response.status_code == 200
    finally:
        nginx.stop()
    span = server_span(receiver.trace(trace_id, until=has_server_span))
    assert (span.name, span.parent_span_id) == ("GET /health/live", parent_id)


DROPPED = re.compile(r'^backoffice_traces_dropped_total\{reason="export_failed"\} (\S+)$', re.M)


def test_a_collector_that_is_down_fails_no_request_and_the_loss_is_counted(
    settings: Settings, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    process, base_url = start(
        settings,
        tmp_path / "server.log",
        OTEL_EXPORTER_OTLP_ENDPOINT=down,
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    try:
        started = time.monotonic()
        statuses = [httpx.get(f"{base_url}/health/live", timeout=10).status_code for _ in range(50)]
        assert statuses == [200] * 50
        assert time.monotonic() - started < 30  # generous: a blocked export would take 50 s
        deadline = time.monotonic() + 60
        dropped = 0.0
        while dropped == 0 and time.monotonic() < deadline:
            found = DROPPED.search(httpx.get(f"{base_url}/metrics", timeout=10).text)
            dropped = float(found.group(1)) if found else 0.0
            time.sleep(0.2)
        assert dropped > 0
    finally:
        process.kill()
        process.wait(timeout=10)


def test_the_mail_a_request_queued_is_sent_in_its_trace(
    traced: TracedServer, receiver: Receiver
) -> None:
    """Registering mails a verification link after the response (console backend)."""
    header, trace_id, _ = traceparent()
    body = {"email": unique_email(), "password": PASSWORD, "full_name": "Traced"}
    response = post(traced, "/api/v1/auth/register", body, header)
    assert response.status_code == 201

    def sent(spans: list[ReceivedSpan]) -> bool:
        return has_server_span(spans) and any(s.name == "mail.send" for s in spans)

    spans = receiver.trace(trace_id, until=sent)
    delivery = next(s for s in spans if s.name == "mail.deliver")
    send = next(s for s in spans if s.name == "mail.send")
    assert delivery.parent_span_id == server_span(spans).span_id
    assert send.parent_span_id == delivery.span_id
