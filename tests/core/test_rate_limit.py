"""The request limiter through HTTP, behind uvicorn's proxy-header handling as `serve` has it."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from backoffice.ratelimit import WindowCounters, parse_budgets
from backoffice.settings import Settings
from tests.auth.test_tokens import counting_decodes
from tests.conftest import SignedInUser
from tests.core.conftest import TRUSTED_PROXY, UNTRUSTED_PEER, Clock, LimitedApp

ME = "/api/v1/users/me"


async def spend(client: httpx.AsyncClient, count: int, **kwargs: Any) -> list[int]:
    return [(await client.get(ME, **kwargs)).status_code for _ in range(count)]


async def test_burst_within_budget_passes_then_429_then_refill(
    limited_app: LimitedApp, clock: Clock, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="5/second")
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 5, headers=user.headers) == [200] * 5

    refused = await client.get(ME, headers=user.headers)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after == 1  # the one-second window closes in 0.75 s

    clock.now += retry_after / 2
    assert (await client.get(ME, headers=user.headers)).status_code == 429
    clock.now += retry_after / 2
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_limited_responses_carry_ratelimit_headers(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="3/minute")
    client = client_from(TRUSTED_PROXY)
    responses = [await client.get(ME, headers=user.headers) for _ in range(4)]
    assert {r.headers["RateLimit-Policy"] for r in responses} == {'"user-60s";q=3;w=60'}
    remaining = [r.headers["RateLimit"].split(";")[1] for r in responses]
    assert remaining == ["r=2", "r=1", "r=0", "r=0"]
    assert responses[-1].status_code == 429


async def test_head_spends_the_budget_of_get_and_carries_its_headers(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="2/minute")
    client = client_from(TRUSTED_PROXY)
    responses = [await client.head(ME, headers=user.headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["RateLimit"].split(";")[1] for r in responses] == ["r=1", "r=0", "r=0"]
    assert "Retry-After" in responses[-1].headers


SAFELISTED = {"cache-control", "content-language", "content-length", "content-type", "pragma"}
"""Response headers a browser lets a script read without `Access-Control-Expose-Headers`."""
NOT_FOR_SCRIPTS = {
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "vary",
    *("access-control-allow-origin", "access-control-allow-credentials"),
    "access-control-expose-headers",
}
ORIGIN = "https://app.example.com"


def unreadable(response: httpx.Response) -> set[str]:
    """The headers of a cross-origin response that a browser's script could not read."""
    exposed = {
        h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    return set(response.headers) - SAFELISTED - NOT_FOR_SCRIPTS - exposed


async def test_a_browser_may_read_every_header_of_a_limited_response(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(cors_origins=[ORIGIN], rate_limit_user="1/minute")
    client = client_from(TRUSTED_PROXY)
    headers = {**user.headers, "Origin": ORIGIN}
    responses = [await client.get(ME, headers=headers) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 429]
    assert [unreadable(r) for r in responses] == [set(), set()]


async def test_a_browser_may_read_that_a_keyed_post_was_replayed(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(cors_origins=[ORIGIN])
    client = client_from(TRUSTED_PROXY)
    headers = {**user.headers, "Origin": ORIGIN, "Idempotency-Key": "cors-replay"}
    body = {"name": "Replayed lamp", "price": "5.00"}
    responses = [await client.post("/api/v1/items", json=body, headers=headers) for _ in range(2)]
    assert responses[1].headers["Idempotent-Replayed"] == "true"
    assert [unreadable(r) for r in responses] == [set(), set()]


async def test_two_users_do_not_share_a_budget(
    limited_app: LimitedApp, user: SignedInUser, admin: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="3/minute")
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 4, headers=user.headers) == [200, 200, 200, 429]
    assert await spend(client, 3, headers=admin.headers) == [200, 200, 200]


async def test_a_users_budget_follows_the_token_not_the_address(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="3/minute", rate_limit_anon="100/minute")
    await spend(client_from(TRUSTED_PROXY), 3, headers=user.headers)
    other_address = client_from(TRUSTED_PROXY)
    response = await other_address.get(
        ME, headers={**user.headers, "X-Forwarded-For": "198.51.100.7"}
    )
    assert response.status_code == 429


async def test_anonymous_client_is_limited_per_address(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(rate_limit_anon="3/minute")
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 4, headers={"X-Forwarded-For": "198.51.100.1"}) == [
        401,
        401,
        401,
        429,
    ]
    assert await spend(client, 1, headers={"X-Forwarded-For": "198.51.100.2"}) == [401]


async def test_spoofed_forwarded_for_from_untrusted_peer_does_not_reset_the_budget(
    limited_app: LimitedApp,
) -> None:
    _, client_from = await limited_app(rate_limit_anon="3/minute")
    client = client_from(UNTRUSTED_PEER)
    assert await spend(client, 3) == [401] * 3
    spoofed = await spend(client, 2, headers={"X-Forwarded-For": "198.51.100.99"})
    assert spoofed == [429, 429]


async def test_invalid_token_counts_against_the_address(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_anon="2/minute", rate_limit_user="100/minute")
    client = client_from(UNTRUSTED_PEER)
    forged = {"Authorization": f"Bearer {user.access_token}x"}
    assert await spend(client, 3, headers=forged) == [401, 401, 429]
    assert await spend(client, 1, headers=user.headers) == [200]


async def test_the_limiter_and_the_caller_check_verify_a_token_once(
    limited_app: LimitedApp, user: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limiter verifies the token; the caller check finds its answer in the app's cache."""
    checked = counting_decodes(monkeypatch)
    _, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 2, headers=user.headers) == [200, 200]
    assert checked == [user.access_token]


async def test_ipv6_clients_share_a_budget_per_64_prefix(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(rate_limit_anon="2/minute")
    one, same_prefix = client_from("2001:db8:1:2::1"), client_from("2001:db8:1:2:ffff::9")
    assert await spend(one, 2) == [401, 401]
    assert await spend(same_prefix, 1) == [429]
    assert await spend(client_from("2001:db8:1:3::1"), 1) == [401]


async def test_exempt_paths_are_never_limited(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(rate_limit_anon="1/minute")
    client = client_from(TRUSTED_PROXY)
    for path in ("/health/live", "/metrics", "/", "/openapi.json"):
        statuses = {(await client.get(path)).status_code for _ in range(3)}
        assert statuses == {200}, path
    assert "RateLimit" not in (await client.get("/health/live")).headers


async def test_exempt_paths_are_configurable(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(
        rate_limit_anon="1/minute", rate_limit_exempt_paths="/api/v1/users/*"
    )
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 3) == [401] * 3
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/metrics")).status_code == 429


async def test_replicas_hint_divides_the_budget(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="6/minute", rate_limit_replicas=3)
    client = client_from(TRUSTED_PROXY)
    assert await spend(client, 3, headers=user.headers) == [200, 200, 429]


async def test_many_clients_keep_the_table_bounded(limited_app: LimitedApp) -> None:
    app, client_from = await limited_app(rate_limit_anon="5/minute", rate_limit_max_keys=50)
    client = client_from(TRUSTED_PROXY)
    for n in range(200):
        await client.get(ME, headers={"X-Forwarded-For": f"10.0.{n // 256}.{n % 256}"})
    anonymous = app.state.rate_limit_tables.anonymous
    assert len(anonymous) == 50


def test_a_hundred_thousand_keys_stay_within_max_keys() -> None:
    counters = WindowCounters(parse_budgets("anon", "60/minute;10/second"), max_keys=10_000)
    for n in range(100_000):
        counters.hit(f"ip:10.{n >> 16}.{(n >> 8) & 255}.{n & 255}")
    assert len(counters) == 10_000


def test_idle_keys_expire_when_new_ones_arrive() -> None:
    now = [1000.0]
    counters = WindowCounters(parse_budgets("anon", "5/second"), 100, clock=lambda: now[0])
    for n in range(10):
        counters.hit(f"old-{n}")
    now[0] += 2.5
    counters.hit("new")
    assert len(counters) == 1


def test_a_typo_in_a_budget_fails_at_start_up(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="not a budget"):
        Settings(**{**settings.model_dump(), "rate_limit_user": "600 per minit"})


async def test_login_throttle_keeps_working_beside_the_limiter(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_anon="100/minute")
    client = client_from(TRUSTED_PROXY)
    wrong = {"email": user.email, "password": "wrong-pass"}
    statuses = [(await client.post("/api/v1/auth/login", json=wrong)) for _ in range(6)]
    assert [r.status_code for r in statuses] == [401] * 5 + [429]
    assert statuses[-1].json()["code"] == "too_many_requests"
    assert "RateLimit" in statuses[-1].headers


def test_every_api_operation_documents_the_429(app: FastAPI) -> None:
    operations = [
        op
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for op in item.values()
    ]
    assert all("429" in op["responses"] for op in operations)
    headers = app.openapi()["paths"][ME]["get"]["responses"]["429"]["headers"]
    assert set(headers) == {"Retry-After", "RateLimit-Policy", "RateLimit"}
