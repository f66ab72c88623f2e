"""A client chooses the HTTP method; `/metrics` of a real `backoffice serve` stays bounded."""

import re
from collections.abc import Callable

import httpx

from tests.e2e.conftest import Server

ODD_METHODS = ("PROPFIND", "MKCOL", "PURGE", "LOCK", "UNLOCK", "REPORT", "SEARCH", "LINK")
"""Methods uvicorn's parser accepts and passes to the app, none of them the service's."""
METHOD_LABEL = re.compile(r'^backoffice_requests_total\{method="([^"]*)"', re.M)


def test_unknown_methods_fold_into_one_metrics_label(
    start_server: Callable[..., Server],
) -> None:
    _, base_url = start_server()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for method in ODD_METHODS:
            client.request(method, "/health/live")
        metrics = client.get("/metrics").text
    labels = set(METHOD_LABEL.findall(metrics))
    assert "OTHER" in labels
    assert labels <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
