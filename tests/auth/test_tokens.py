"""Every access token the service did not issue, or would not accept now, is a 401."""

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from backoffice import security
from backoffice.main import create_app
from backoffice.security import InvalidToken, VerifiedTokens, create_access_token
from backoffice.settings import Settings
from tests.conftest import SignedInUser


def claims_for(user: SignedInUser, settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "type": "access",
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": "test",
        "ver": 0,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


async def assert_refused(client: httpx.AsyncClient, token: str, path: str = "/users/me") -> None:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


async def test_a_well_formed_token_is_accepted(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    token = sign(claims_for(user, settings), settings.jwt_secret)
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_expired_token_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    past = int(time.time()) - 3600
    claims = claims_for(user, settings, iat=past - 600, exp=past)
    await assert_refused(client, sign(claims, settings.jwt_secret))


async def test_wrong_signature_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    await assert_refused(client, sign(claims_for(user, settings), "another-secret-" * 4))


async def test_alg_none_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    import base64
    import json

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(user, settings))}."
    await assert_refused(client, token)


async def test_hs512_token_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    await assert_refused(client, sign(claims_for(user, settings), settings.jwt_secret, "HS512"))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": "someone-else"}, id="wrong-aud"),
        pytest.param({"iss": "someone-else"}, id="wrong-iss"),
        pytest.param({"exp": None}, id="missing-exp"),
        pytest.param({"aud": None}, id="missing-aud"),
        pytest.param({"iss": None}, id="missing-iss"),
        pytest.param({"iat": None}, id="missing-iat"),
        pytest.param({"sub": None}, id="missing-sub"),
        pytest.param({"type": "refresh"}, id="refresh-type"),
        pytest.param({"type": None}, id="missing-type"),
        pytest.param({"sub": "999999"}, id="unknown-sub"),
        pytest.param({"sub": "not-a-number"}, id="malformed-sub"),
        pytest.param({"sub": "2147483648"}, id="sub-past-int4"),
        pytest.param({"sub": str(2**63)}, id="sub-past-int8"),
        pytest.param({"sub": str(10**30)}, id="sub-30-digits"),
        pytest.param({"sub": "0"}, id="sub-zero"),
        pytest.param({"exp": str(int(time.time()) + 600)}, id="exp-numeric-string"),
        pytest.param({"iat": int(time.time()) + 86_400}, id="iat-in-the-future"),
        pytest.param({"ver": None}, id="missing-ver"),
        pytest.param({"ver": "0"}, id="ver-string"),
        pytest.param({"ver": 1}, id="ver-ahead-of-the-user"),
    ],
)
async def test_token_with_bad_claims_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, overrides: dict[str, Any]
) -> None:
    await assert_refused(client, sign(claims_for(user, settings, **overrides), settings.jwt_secret))


@pytest.mark.parametrize(
    "sub", [" +1 ", "+1", "\u0661", "01"], ids=["spaces", "plus", "arabic", "zero-padded"]
)
async def test_a_sub_that_only_int_would_read_as_user_1_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings, sub: str
) -> None:
    assert user.id == 1
    await assert_refused(client, sign(claims_for(user, settings, sub=sub), settings.jwt_secret))


async def test_a_sub_past_int4_on_the_idempotency_path_is_401(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    token = sign(claims_for(user, settings, sub="2147483648"), settings.jwt_secret)
    response = await client.post(
        "/items",
        json={"name": "Widget", "price": "1.00"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "big-sub"},
    )
    assert response.status_code == 401


async def test_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    await assert_refused(client, "not.a.token")


@pytest.mark.parametrize(
    "path",
    [
        "/users/me",  # its read is the caller check (`CallerCheckDep`)
        "/items/2147483647",  # its read carries the check: 401 before any 404
        "/items",  # an empty page: the check is asked on its own
        "/users",  # the caller check, then the route's own statements (`CurrentUser`)
    ],
)
async def test_deactivated_user_is_refused_at_once(
    client: httpx.AsyncClient, user: SignedInUser, admin: SignedInUser, path: str
) -> None:
    response = await client.patch(
        f"/users/{user.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    await assert_refused(client, user.access_token, path)


async def test_a_token_accepted_before_is_refused_once_it_expires(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    """Verified tokens are remembered; their expiry is still checked on every request."""
    now = int(time.time())
    token = sign(claims_for(user, settings, exp=now + 2), settings.jwt_secret)
    accepted = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200
    await asyncio.sleep(max(0.0, now + 2 - time.time()) + 0.05)
    await assert_refused(client, token)


async def test_a_token_is_refused_from_its_exp_on_even_on_its_first_use(
    client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    """python-jose compares whole seconds: alone, it took a token for up to a second
    past its `exp`, where the cache of verified tokens refused it."""
    now = int(time.time())
    token = sign(claims_for(user, settings, iat=now - 60, exp=now), settings.jwt_secret)
    await assert_refused(client, token)


def test_a_token_verified_under_one_secret_is_not_remembered_for_another(
    settings: Settings,
) -> None:
    tokens = VerifiedTokens()
    token, _ = create_access_token(settings, 1, "user", 0)
    assert tokens.claims(settings, token).user_id == 1
    other = settings.model_copy(update={"jwt_secret": "another-secret-" * 4})
    with pytest.raises(InvalidToken):
        tokens.claims(other, token)


def counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens given the full check (signature and claims), one entry a check."""
    checked: list[str] = []
    real = security.decode_access_token

    def counted(settings: Settings, token: str) -> tuple[security.AccessClaims, int]:
        checked.append(token)
        return real(settings, token)

    monkeypatch.setattr(security, "decode_access_token", counted)
    return checked


async def test_a_refused_token_is_checked_once_however_often_it_is_sent(
    client: httpx.AsyncClient, user: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = counting_decodes(monkeypatch)
    forged = f"{user.access_token}x"
    for _ in range(3):
        await assert_refused(client, forged)
    assert checked == [forged]


def test_a_token_issued_ahead_of_this_clock_is_accepted_once_its_time_comes(
    user: SignedInUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica's clock may run ahead: that refusal is not remembered."""
    tokens = VerifiedTokens()
    now = time.time()
    ahead = claims_for(user, settings, iat=int(now) + 3600, exp=int(now) + 7200)
    token = sign(ahead, settings.jwt_secret)
    with pytest.raises(InvalidToken):
        tokens.claims(settings, token)
    monkeypatch.setattr(security.time, "time", lambda: now + 3600)
    assert tokens.claims(settings, token).user_id == user.id


def test_the_verified_token_cache_keeps_at_most_its_size_of_each_answer(
    settings: Settings,
) -> None:
    tokens = VerifiedTokens(max_size=2)
    for user_id in (1, 2, 3):
        tokens.claims(settings, create_access_token(settings, user_id, "user", 0)[0])
        with pytest.raises(InvalidToken):
            tokens.claims(settings, f"garbage-{user_id}")
    assert len(tokens) == 4


async def test_each_app_has_its_own_verified_token_cache(
    app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, settings: Settings
) -> None:
    """Nothing verified is kept in the process: an app started with other settings, as a
    test or a second app in one process does, starts with an empty cache."""
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    assert len(app.state.verified_tokens) >= 1
    assert len(create_app(settings).state.verified_tokens) == 0
