"""The request budgets in a real `redis-server` (`RATE_LIMIT_STORAGE_URL`), through HTTP.

Two apps built from the same settings stand for two replicas. Budgets are per hour, so
that no test meets a window boundary while it runs (Redis's clock cannot be stopped).
"""

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from backoffice.ratelimit_store import PROBE_SECONDS, Queued, RedisCounters
from backoffice.settings import Settings
from tests.conftest import PASSWORD, SignedInUser
from tests.core.conftest import TRUSTED_PROXY, Clock, LimitedApp
from tests.e2e.conftest import unavailable
from tests.redis_server import RedisServer, free_port, redis_binary, silent_redis

ME = "/api/v1/users/me"
Client = Callable[[str], httpx.AsyncClient]


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def statuses(client: httpx.AsyncClient, user: SignedInUser, count: int) -> list[int]:
    return [(await client.get(ME, headers=user.headers)).status_code for _ in range(count)]


async def test_a_burst_on_one_replica_gets_the_whole_shared_budget(
    limited_app: LimitedApp, redis_url: str, user: SignedInUser
) -> None:
    _, client_from = await limited_app(
        rate_limit_user="6/hour", rate_limit_replicas=2, rate_limit_storage_url=redis_url
    )
    assert await statuses(client_from(TRUSTED_PROXY), user, 8) == [200] * 6 + [429] * 2


async def test_replicas_sharing_the_store_spend_one_budget(
    limited_app: LimitedApp, redis_url: str, user: SignedInUser
) -> None:
    replicas = [
        (await limited_app(rate_limit_user="6/hour", rate_limit_storage_url=redis_url))[1](
            TRUSTED_PROXY
        )
        for _ in range(2)
    ]
    spread = [(await replicas[n % 2].get(ME, headers=user.headers)).status_code for n in range(10)]
    assert spread.count(200) == 6
    assert spread[6:] == [429] * 4


async def test_shared_budget_answers_with_the_same_headers_and_body(
    limited_app: LimitedApp, redis_server: RedisServer, redis_url: str, user: SignedInUser
) -> None:
    _, client_from = await limited_app(rate_limit_user="3/hour", rate_limit_storage_url=redis_url)
    client = client_from(TRUSTED_PROXY)
    responses = [await client.get(ME, headers=user.headers) for _ in range(4)]
    assert {r.headers["RateLimit-Policy"] for r in responses} == {'"user-3600s";q=3;w=3600'}
    remaining = [r.headers["RateLimit"].split(";")[1] for r in responses]
    assert remaining == ["r=2", "r=1", "r=0", "r=0"]
    refused = responses[-1]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["RateLimit"].endswith(f"t={refused.headers['Retry-After']}")
    assert redis_server.command(b"DBSIZE") == b":1\r\n"  # counted there, not locally


async def test_shared_keys_expire_two_windows_after_their_last_request(
    limited_app: LimitedApp, redis_server: RedisServer, redis_url: str, user: SignedInUser
) -> None:
    _, client_from = await limited_app(
        rate_limit_user="100/hour;10/second", rate_limit_storage_url=redis_url
    )
    await statuses(client_from(TRUSTED_PROXY), user, 3)
    assert redis_server.command(b"DBSIZE") == b":1\r\n"
    ttl = redis_server.command(f"TTL backoffice:ratelimit:user:user:{user.id}".encode())
    assert ttl is not None
    assert 7000 < int(ttl.strip(b":\r\n")) <= 7200


async def test_script_is_loaded_again_when_redis_lost_it(
    limited_app: LimitedApp, redis_server: RedisServer, redis_url: str, user: SignedInUser
) -> None:
    _, client_from = await limited_app(
        rate_limit_user="4/hour", rate_limit_replicas=2, rate_limit_storage_url=redis_url
    )
    client = client_from(TRUSTED_PROXY)
    errors = metric("backoffice_ratelimit_storage_errors_total")
    assert await statuses(client, user, 2) == [200, 200]
    assert redis_server.command(b"SCRIPT FLUSH") == b"+OK\r\n"
    assert await statuses(client, user, 3) == [200, 200, 429]
    assert metric("backoffice_ratelimit_storage_errors_total") == errors


async def test_concurrent_requests_go_together_and_meet_the_budget_exactly(
    limited_app: LimitedApp,
    redis_server: RedisServer,
    redis_url: str,
    user: SignedInUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, client_from = await limited_app(rate_limit_user="6/hour", rate_limit_storage_url=redis_url)
    client = client_from(TRUSTED_PROXY)
    pipelined: list[int] = []
    pipeline = RedisCounters._pipeline

    async def counting(store: RedisCounters, batch: Queued, load: bool = False) -> list[Any]:
        pipelined.append(len(batch))
        return await pipeline(store, batch, load)

    monkeypatch.setattr(RedisCounters, "_pipeline", counting)
    errors = metric("backoffice_ratelimit_storage_errors_total")
    assert redis_server.command(b"SCRIPT FLUSH") == b"+OK\r\n"  # loaded again in a pipeline
    responses = await asyncio.gather(*(client.get(ME, headers=user.headers) for _ in range(15)))
    assert sorted(r.status_code for r in responses) == [200] * 6 + [429] * 9
    assert {r.headers["RateLimit-Policy"] for r in responses} == {'"user-3600s";q=6;w=3600'}
    assert metric("backoffice_ratelimit_storage_errors_total") == errors
    assert max(pipelined) > 1


async def test_route_budget_is_shared_too(limited_app: LimitedApp, redis_url: str) -> None:
    replicas = [
        (await limited_app(rate_limit_register="2/hour", rate_limit_storage_url=redis_url))[1](
            TRUSTED_PROXY
        )
        for _ in range(2)
    ]
    created = [
        (
            await replicas[n % 2].post(
                "/api/v1/auth/register",
                json={"email": f"shared-{n}@example.com", "password": PASSWORD, "full_name": "X"},
            )
        ).status_code
        for n in range(3)
    ]
    assert created == [201, 201, 429]


@pytest.fixture
def stopped_redis() -> Iterator[RedisServer]:
    """A port where Redis is not running (yet): `start()` brings it up there."""
    binary = redis_binary()
    if binary is None:
        unavailable("redis-server is not installed (.ci/install-e2e-deps installs it)")
    server = RedisServer(binary)
    yield server
    server.stop()


async def down_app(
    limited_app: LimitedApp, url: str, clock: Clock, **settings: object
) -> tuple[FastAPI, Client]:
    app, client_from = await limited_app(
        **{
            "rate_limit_user": "6/hour",
            "rate_limit_replicas": 2,
            "rate_limit_storage_url": url,
            **settings,
        }
    )
    app.state.rate_limit_shared.users.breaker.clock = clock
    return app, client_from


async def test_store_down_falls_back_to_this_replicas_share(
    limited_app: LimitedApp, clock: Clock, user: SignedInUser
) -> None:
    _, client_from = await down_app(limited_app, f"redis://127.0.0.1:{free_port()}/0", clock)
    errors = metric("backoffice_ratelimit_storage_errors_total")
    responses = [await client_from(TRUSTED_PROXY).get(ME, headers=user.headers) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert responses[0].headers["RateLimit-Policy"] == '"user-3600s";q=3;w=3600'
    assert metric("backoffice_ratelimit_storage_errors_total") == errors + 1
    assert metric("backoffice_ratelimit_storage_fallback") == 1


async def test_hung_store_costs_one_timeout_then_nothing_while_the_breaker_is_open(
    limited_app: LimitedApp, clock: Clock, user: SignedInUser
) -> None:
    with silent_redis() as url:
        _, client_from = await down_app(
            limited_app, url, clock, rate_limit_user="100/hour", rate_limit_storage_timeout_ms=100
        )
        errors = metric("backoffice_ratelimit_storage_errors_total")
        assert await statuses(client_from(TRUSTED_PROXY), user, 10) == [200] * 10
        assert metric("backoffice_ratelimit_storage_errors_total") == errors + 1


async def test_store_back_is_used_again_after_one_probe(
    limited_app: LimitedApp, clock: Clock, stopped_redis: RedisServer, user: SignedInUser
) -> None:
    _, client_from = await down_app(limited_app, stopped_redis.url, clock)
    client = client_from(TRUSTED_PROXY)
    fallback_seconds = metric("backoffice_ratelimit_storage_fallback_seconds_total")
    assert (await client.get(ME, headers=user.headers)).headers["RateLimit-Policy"].count("q=3")
    stopped_redis.start()
    assert (await client.get(ME, headers=user.headers)).headers["RateLimit-Policy"].count("q=3")

    clock.now += PROBE_SECONDS
    back = await client.get(ME, headers=user.headers)
    assert back.headers["RateLimit-Policy"] == '"user-3600s";q=6;w=3600'
    assert metric("backoffice_ratelimit_storage_fallback") == 0
    spent = metric("backoffice_ratelimit_storage_fallback_seconds_total") - fallback_seconds
    assert spent == pytest.approx(PROBE_SECONDS)


async def test_outage_warning_is_logged_at_most_every_30_seconds(
    limited_app: LimitedApp, clock: Clock, user: SignedInUser, caplog: pytest.LogCaptureFixture
) -> None:
    _, client_from = await down_app(limited_app, f"redis://127.0.0.1:{free_port()}/0", clock)
    client = client_from(TRUSTED_PROXY)
    with caplog.at_level(logging.WARNING, logger="backoffice.ratelimit"):
        for _ in range(4):
            await client.get(ME, headers=user.headers)
            clock.now += 10
        await client.get(ME, headers=user.headers)
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 2


def test_storage_url_must_be_redis_or_rediss(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="redis://"):
        Settings(**{**settings.model_dump(), "rate_limit_storage_url": "http://cache:6379/0"})
    for url in ("redis://:secret@cache:6379/1", "rediss://cache:6380/0", ""):
        assert Settings(**{**settings.model_dump(), "rate_limit_storage_url": url})
