"""`RATE_LIMIT_EXEMPT_CIDRS` against a real `backoffice serve`: it matches the client address
uvicorn derives from `X-Forwarded-For`, which only a peer in `FORWARDED_ALLOW_IPS` can set."""

from collections.abc import Callable

import httpx

from tests.conftest import PASSWORD
from tests.e2e.conftest import Server

EXEMPT = {"X-Forwarded-For": "198.51.100.7"}


def register_statuses(base_url: str, peer: str, prefix: str) -> set[int]:
    """Fifty registrations (past the default per-address budget) sent from `peer`."""
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(transport=transport, base_url=base_url, timeout=10) as client:
        return {
            client.post(
                "/api/v1/auth/register",
                json={"email": f"{prefix}{n}@example.com", "password": PASSWORD, "full_name": "X"},
                headers=EXEMPT,
            ).status_code
            for n in range(50)
        }


def test_only_a_trusted_proxy_can_forward_an_exempt_address(
    start_server: Callable[..., Server],
) -> None:
    _, base_url = start_server(
        RATE_LIMIT_ENABLED="true",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        RATE_LIMIT_EXEMPT_CIDRS="198.51.100.0/24",
    )
    assert register_statuses(base_url, "127.0.0.1", "proxied") == {201}
    assert 429 in register_statuses(base_url, "127.0.0.2", "spoofed")
