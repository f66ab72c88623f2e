"""A hostile body under the size cap, against a real `backoffice serve`."""

from collections.abc import Callable

import httpx

from tests.e2e.conftest import Server


def test_a_body_of_90000_keys_gets_a_short_answer(start_server: Callable[..., Server]) -> None:
    """It was a 422 listing 90,003 errors (8 MB) after 1.5 s of the worker's loop."""
    _, base_url = start_server()
    body = ("{" + ",".join(f'"k{i}":0' for i in range(90_000)) + "}").encode()
    assert len(body) < 1024 * 1024
    response = httpx.post(
        f"{base_url}/api/v1/auth/register",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert len(response.content) < 500
