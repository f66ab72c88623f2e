"""Many people behind one address, with the default budgets: what a request proves keys its budget.

Every client here connects through the trusted proxy and is forwarded from one address,
as phones behind a carrier NAT or an office's egress are.
"""

import secrets
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backoffice.security import digest_refresh_token
from tests.conftest import PASSWORD, SignedInUser, UserFactory
from tests.core.conftest import TRUSTED_PROXY, Clock, LimitedApp

SHARED = {"X-Forwarded-For": "198.51.100.20"}
ME = "/api/v1/users/me"
LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
REGISTER = "/api/v1/auth/register"
RESET = "/api/v1/auth/password/reset"


async def sign_in(client: httpx.AsyncClient, user: SignedInUser, form: bool) -> httpx.Response:
    if form:
        fields = {"username": user.email, "password": PASSWORD}
        return await client.post(TOKEN, data=fields, headers=SHARED)
    return await client.post(
        LOGIN, json={"email": user.email, "password": PASSWORD}, headers=SHARED
    )


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token}, headers=SHARED)


def register_body(n: int) -> dict[str, str]:
    return {"email": f"new{n}@example.com", "password": PASSWORD, "full_name": "New User"}


async def test_two_hundred_people_behind_one_address_sign_in_and_refresh_twice_without_429(
    limited_app: LimitedApp, clock: Clock, make_user: UserFactory
) -> None:
    people = [await make_user() for _ in range(200)]
    _, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    statuses: Counter[int] = Counter()
    for n, person in enumerate(people):  # 600 requests, one every 0.1 s: one minute
        signed_in = await sign_in(client, person, form=n % 2 == 1)
        statuses[signed_in.status_code] += 1
        token = signed_in.json()["refresh_token"]
        for _ in range(2):
            clock.now += 0.1
            refreshed = await refresh(client, token)
            statuses[refreshed.status_code] += 1
            token = refreshed.json()["refresh_token"]
        clock.now += 0.1
    assert statuses == {200: 600}


async def test_garbage_refresh_tokens_are_refused_without_blocking_real_refreshes(
    limited_app: LimitedApp, clock: Clock, user: SignedInUser
) -> None:
    _, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    garbage = []
    for n in range(300):  # five a second for a minute
        garbage.append(await refresh(client, f"garbage-{n}"))
        clock.now += 0.2
    assert {r.status_code for r in garbage} == {401, 429}
    refused = next(r for r in garbage if r.status_code == 429)
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["request_id"] == refused.headers["X-Request-ID"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert '"refresh-unproven-60s";q=120;w=60' in refused.headers["RateLimit-Policy"]
    assert '"refresh-unproven-60s";r=0' in refused.headers["RateLimit"]
    assert (await refresh(client, user.refresh_token)).status_code == 200


async def test_fifty_registrations_from_one_address_within_half_a_minute_are_refused(
    limited_app: LimitedApp, clock: Clock
) -> None:
    _, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    clock.now = 1_000_020.25  # a minute window starts at 1,000,020
    responses = []
    for n in range(50):  # two a second: no burst budget is what refuses them
        responses.append(await client.post(REGISTER, json=register_body(n), headers=SHARED))
        clock.now += 0.5
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * 40 + [429] * 10
    assert responses[-1].json()["code"] == "rate_limited"
    assert '"register-60s";q=40;w=60' in responses[-1].headers["RateLimit-Policy"]


async def test_garbage_reset_tokens_from_one_address_meet_its_account_links_budget(
    limited_app: LimitedApp, clock: Clock
) -> None:
    """Tokens prove nothing before the database: 40 a minute per address, as registrations."""
    _, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    clock.now = 1_000_020.25
    body = {"token": "A" * 43, "new_password": PASSWORD}
    responses = []
    for _ in range(41):
        responses.append(await client.post(RESET, json=body, headers=SHARED))
        clock.now += 0.5
    assert Counter(r.status_code for r in responses) == {400: 40, 429: 1}
    assert responses[-1].json()["code"] == "rate_limited"
    assert '"account-links-60s";q=40;w=60' in responses[-1].headers["RateLimit-Policy"]


async def test_an_exempt_address_is_never_limited(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(rate_limit_exempt_cidrs="192.0.2.0/24, 198.51.100.0/24")
    client = client_from(TRUSTED_PROXY)
    garbage = [await refresh(client, f"garbage-{n}") for n in range(300)]
    registered = [
        await client.post(REGISTER, json=register_body(n), headers=SHARED) for n in range(50)
    ]
    assert {r.status_code for r in garbage} == {401}
    assert {r.status_code for r in registered} == {201}
    assert "RateLimit" not in registered[-1].headers


async def test_an_ipv4_mapped_client_counts_as_its_ipv4_address(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app()
    one, other = client_from("::ffff:198.51.100.1"), client_from("::ffff:198.51.100.2")
    statuses = [(await one.get(ME)).status_code for _ in range(101)]
    assert statuses == [401] * 100 + [429]
    assert (await other.get(ME)).status_code == 401


async def test_an_exempt_address_covers_its_ipv4_mapped_form(limited_app: LimitedApp) -> None:
    _, client_from = await limited_app(rate_limit_exempt_cidrs="198.51.100.1")
    client = client_from("::ffff:198.51.100.1")
    assert {(await client.get(ME)).status_code for _ in range(150)} == {401}


async def test_revoked_token_401s_spend_the_senders_address_budget_not_the_users(
    limited_app: LimitedApp, client: httpx.AsyncClient, user: SignedInUser
) -> None:
    _, client_from = await limited_app()
    limited = client_from(TRUSTED_PROXY)
    changed = await client.post(
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        headers=user.headers,
    )
    assert changed.status_code == 204
    fresh = await client.post(
        "/auth/login", json={"email": user.email, "password": "a brand new password"}
    )
    revoked = {**user.headers, "X-Forwarded-For": "203.0.113.50"}
    statuses = [(await limited.get(ME, headers=revoked)).status_code for _ in range(101)]
    assert statuses == [401] * 100 + [429]  # the sender's address: 100 a second
    owner = {"Authorization": f"Bearer {fresh.json()['access_token']}", **SHARED}
    assert (await limited.get(ME, headers=owner)).status_code == 200


async def test_an_untagged_refresh_token_from_before_still_refreshes_on_the_address_budget(
    limited_app: LimitedApp, engine: AsyncEngine, user: SignedInUser
) -> None:
    untagged = secrets.token_urlsafe(32)  # the format issued before tokens carried a family
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE refresh_tokens SET token_hash = :new WHERE token_hash = :old"),
            {
                "new": digest_refresh_token(untagged),
                "old": digest_refresh_token(user.refresh_token),
            },
        )
    _, client_from = await limited_app()
    refreshed = await refresh(client_from(TRUSTED_PROXY), untagged)
    assert refreshed.status_code == 200
    assert '"refresh-unproven-60s"' in refreshed.headers["RateLimit-Policy"]
    rotated = await refresh(client_from(TRUSTED_PROXY), refreshed.json()["refresh_token"])
    assert '"refresh-60s"' in rotated.headers["RateLimit-Policy"]


async def test_a_sign_in_refused_by_its_email_budget_costs_no_database_round_trip(
    limited_app: LimitedApp, user: SignedInUser
) -> None:
    app, client_from = await limited_app()
    client = client_from(TRUSTED_PROXY)
    statuses = [(await sign_in(client, user, form=False)).status_code for _ in range(10)]
    assert statuses == [200] * 10
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    try:
        refused = await sign_in(client, user, form=True)
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", record)
    assert refused.status_code == 429
    assert '"sign-in-60s";r=0' in refused.headers["RateLimit"]
    assert statements == []
