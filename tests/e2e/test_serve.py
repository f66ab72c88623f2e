"""`backoffice serve`, the container's command, as a real process."""

import signal
import time
from collections.abc import Callable

import httpx

from tests.e2e.conftest import Server


def test_serve_answers_over_real_http(start_server: Callable[..., Server]) -> None:
    _, base_url = start_server()
    ready = httpx.get(f"{base_url}/health/ready", timeout=5)
    assert ready.status_code == 200
    docs = httpx.get(f"{base_url}/docs", timeout=5)
    assert docs.status_code == 200


def test_sigterm_drains_before_stopping(start_server: Callable[..., Server]) -> None:
    process, base_url = start_server(DRAIN_SECONDS="2", GRACEFUL_SHUTDOWN_SECONDS="5")
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    ready = httpx.get(f"{base_url}/health/ready", timeout=5)
    live = httpx.get(f"{base_url}/health/live", timeout=5)
    assert ready.status_code == 503
    assert ready.json() == {"status": "draining"}
    assert "Retry-After" in ready.headers
    assert live.status_code == 200
    process.wait(timeout=15)
    assert process.poll() is not None


def test_access_log_is_one_json_line_per_request(start_server: Callable[..., Server]) -> None:
    process, base_url = start_server(DRAIN_SECONDS="0")
    httpx.get(f"{base_url}/api/v1/users/me", headers={"X-Request-ID": "log-me-1"}, timeout=5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    lines = [line for line in output.splitlines() if '"log-me-1"' in line]
    assert len(lines) == 1
    assert '"route": "/api/v1/users/me"' in lines[0]
    assert '"status": 401' in lines[0]


def test_responses_close_the_connection_while_draining(
    start_server: Callable[..., Server],
) -> None:
    process, base_url = start_server(DRAIN_SECONDS="2", GRACEFUL_SHUTDOWN_SECONDS="5")
    before = httpx.get(f"{base_url}/health/live", timeout=5)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    during = httpx.get(f"{base_url}/health/live", timeout=5)
    assert before.headers.get("Connection") != "close"
    assert during.headers["Connection"] == "close"
    process.wait(timeout=15)


def wait_until_ready_in_a_row(base_url: str, times: int, timeout: float = 90) -> None:
    """Both workers started and reached the database (new connections go to either)."""
    deadline = time.monotonic() + timeout
    streak = 0
    while streak < times and time.monotonic() < deadline:
        ok = httpx.get(f"{base_url}/health/ready", timeout=5).status_code == 200
        streak = streak + 1 if ok else 0
        time.sleep(0.05)
    assert streak == times


def test_sigterm_drains_every_worker(start_server: Callable[..., Server]) -> None:
    """With two workers, every answer during the drain is not-ready and closes."""
    process, base_url = start_server(
        WEB_CONCURRENCY="2", DRAIN_SECONDS="10", GRACEFUL_SHUTDOWN_SECONDS="5"
    )
    wait_until_ready_in_a_row(base_url, times=10)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    during = [httpx.get(f"{base_url}/health/ready", timeout=5) for _ in range(10)]
    assert {r.status_code for r in during} == {503}
    assert {r.headers["Connection"] for r in during} == {"close"}
    process.wait(timeout=60)
