"""Two real `backoffice serve` replicas sharing one real `redis-server` for their budgets.

Each replica is told there are two (`RATE_LIMIT_REPLICAS=2`): with Redis a user has the
whole budget wherever the balancer sends them; without it, each replica its half.
Budgets are per hour, so no test meets a window boundary while it runs.
"""

import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.ratelimit_store import PROBE_SECONDS
from backoffice.settings import Settings
from tests.e2e.api import Member, sign_up
from tests.e2e.conftest import served, unavailable
from tests.redis_server import RedisServer, redis_binary, redis_on_free_port, silent_redis

BUDGET = 20
WHOLE = f'"user-3600s";q={BUDGET};w=3600'
HALF = f'"user-3600s";q={BUDGET // 2};w=3600'
ME = "/api/v1/users/me"
ID_BLOCKS = itertools.count(1000, 1000)


def replica_env(url: str) -> dict[str, str]:
    return {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_USER": f"{BUDGET}/hour",
        "RATE_LIMIT_REPLICAS": "2",
        "RATE_LIMIT_STORAGE_URL": url,
        "RATE_LIMIT_STORAGE_TIMEOUT_MS": "300",
    }


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    """This module's own Redis: its tests stop and start it."""
    with redis_on_free_port() as server:
        yield server


@pytest.fixture(autouse=True)
async def unseen_user_ids(engine: AsyncEngine) -> None:
    """Users with ids no earlier test had: the counters outlive the tables' truncation."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('users', 'id'), :start)"),
            {"start": next(ID_BLOCKS)},
        )


@pytest.fixture(scope="module")
def replicas(settings: Settings, redis: RedisServer) -> Iterator[tuple[str, str]]:
    env = replica_env(redis.url)
    with served(settings, **env) as first, served(settings, **env) as second:
        yield first, second


@pytest.fixture
def running_redis(redis: RedisServer, replicas: tuple[str, str]) -> Iterator[RedisServer]:
    """Redis up at the start of the test, and at its end again and used by both replicas."""
    yield redis
    if redis.process is None:
        redis.start()
    deadline = time.monotonic() + 60
    for base_url in replicas:
        # A counted request lets a replica probe the store; the next test needs it back.
        while metric(base_url, "backoffice_ratelimit_storage_fallback") != 0:
            assert time.monotonic() < deadline, "a replica did not go back to Redis"
            httpx.get(f"{base_url}/api/v1/items", timeout=30)
            time.sleep(0.5)


def get(base_url: str, member: Member) -> httpx.Response:
    return httpx.get(f"{base_url}{ME}", headers=member.headers, timeout=30)


def burst(targets: list[str], member: Member, count: int) -> list[httpx.Response]:
    return [get(targets[n % len(targets)], member) for n in range(count)]


def metric(base_url: str, name: str) -> float:
    for line in httpx.get(f"{base_url}/metrics", timeout=30).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_burst_spread_over_both_replicas_meets_one_budget(replicas: tuple[str, str]) -> None:
    responses = burst(list(replicas), sign_up(replicas[0]), 2 * BUDGET)
    assert [r.status_code for r in responses] == [200] * BUDGET + [429] * BUDGET
    assert {r.headers["RateLimit-Policy"] for r in responses} == {WHOLE}


def test_a_burst_on_one_replica_gets_the_whole_budget(replicas: tuple[str, str]) -> None:
    responses = burst([replicas[1]], sign_up(replicas[0]), BUDGET + 5)
    assert [r.status_code for r in responses] == [200] * BUDGET + [429] * 5


def test_stopping_redis_under_load_gives_no_5xx_and_local_budgets(
    replicas: tuple[str, str], running_redis: RedisServer
) -> None:
    loaded = sign_up(replicas[0])
    assert get(replicas[0], loaded).headers["RateLimit-Policy"] == WHOLE
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load(base_url: str) -> None:
        while not stop.is_set():
            statuses[get(base_url, loaded).status_code] += 1

    threads = [threading.Thread(target=load, args=(replicas[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    running_redis.stop()
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert set(statuses) <= {200, 429}
    assert statuses[429] > 0

    fresh = sign_up(replicas[0])
    responses = burst([replicas[0]], fresh, BUDGET)
    assert [r.status_code for r in responses] == [200] * (BUDGET // 2) + [429] * (BUDGET // 2)
    assert {r.headers["RateLimit-Policy"] for r in responses} == {HALF}
    assert metric(replicas[0], "backoffice_ratelimit_storage_fallback") == 1
    assert httpx.get(f"{replicas[0]}/health/ready", timeout=30).status_code == 200


def test_starting_redis_again_restores_the_shared_budget(
    replicas: tuple[str, str], running_redis: RedisServer
) -> None:
    member = sign_up(replicas[0])
    running_redis.stop()
    assert {get(url, member).headers["RateLimit-Policy"] for url in replicas} == {HALF}
    running_redis.start()
    deadline = time.monotonic() + 60
    while {get(url, member).headers["RateLimit-Policy"] for url in replicas} != {WHOLE}:
        assert time.monotonic() < deadline, "the replicas did not go back to Redis"
        time.sleep(0.5)

    responses = burst(list(replicas), sign_up(replicas[0]), BUDGET + 4)
    assert [r.status_code for r in responses] == [200] * BUDGET + [429] * 4
    assert {metric(url, "backoffice_ratelimit_storage_fallback") for url in replicas} == {0}


def test_a_redis_that_never_answers_costs_one_timeout_then_nothing(settings: Settings) -> None:
    if redis_binary() is None:
        unavailable("redis-server is not installed (.ci/install-e2e-deps installs it)")
    with silent_redis() as url, served(settings, **replica_env(url)) as base_url:
        started = time.monotonic()
        member = sign_up(base_url)
        responses = burst([base_url], member, BUDGET)
        elapsed = time.monotonic() - started
        assert [r.status_code for r in responses] == [200] * (BUDGET // 2) + [429] * (BUDGET // 2)
        errors = metric(base_url, "backoffice_ratelimit_storage_errors_total")
        # The first request pays the timeout; then one probe per PROBE_SECONDS at most.
        assert 1 <= errors <= 2 + math.ceil(elapsed / PROBE_SECONDS)
        assert metric(base_url, "backoffice_ratelimit_storage_fallback") == 1
        assert httpx.get(f"{base_url}/health/ready", timeout=30).status_code == 200
