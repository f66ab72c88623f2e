"""Password hashing, and access tokens: reading one off a request, issuing and checking it."""

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, TypeVar

import anyio
import bcrypt
from jose import JWTError, jwt
from starlette.types import Scope

from backoffice.errors import ServiceUnavailable
from backoffice.schemas import MAX_DB_ID
from backoffice.settings import Settings
from backoffice.telemetry import span

MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_BYTES = 8
ACCESS_TOKEN_TYPE = "access"  # noqa: S105
IAT_LEEWAY_SECONDS = 60
"""Clock skew between replicas that a token's issue time may show."""


class HashingBusy(ServiceUnavailable):
    code = "busy"
    message = "Too many sign-ins at once, retry shortly"

    def __init__(self) -> None:
        super().__init__(retry_after_seconds=1)


class InvalidToken(Exception):
    """The token is not one this service issued and would accept now."""


class NotYetValid(InvalidToken):
    """Issued later than this replica's clock allows: the one refusal time may lift."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says: whose it is, and which token version it carries."""

    user_id: int
    version: int


def _hash_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _verify_sync(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        # bcrypt 5 refuses passwords over 72 bytes: that is a wrong password, not a 500.
        return False


T = TypeVar("T")


class PasswordHasher:
    """bcrypt for one app, made by `create_app` from its settings.

    bcrypt is CPU-bound (~250 ms at cost 12), so it runs in a worker thread behind a
    limiter of `threads` slots: a login storm queues here instead of stalling the event
    loop or taking every thread of the shared pool. The wait for a slot is bounded
    (`queue_seconds`): past it the sign-in is refused with 503 `busy` and `Retry-After`,
    rather than holding the client for many seconds behind the storm.
    """

    def __init__(self, rounds: int, threads: int, queue_seconds: float) -> None:
        self.rounds = rounds
        self.queue_seconds = queue_seconds
        self.limiter = anyio.CapacityLimiter(threads)
        self._dummy: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> "PasswordHasher":
        return cls(settings.bcrypt_rounds, settings.bcrypt_threads, settings.bcrypt_queue_seconds)

    async def hash(self, password: str) -> str:
        with span("bcrypt.hash", rounds=self.rounds):
            return await self._in_slot(partial(_hash_sync, password, self.rounds))

    async def verify(self, password: str, hashed: str) -> bool:
        with span("bcrypt.verify"):
            return await self._in_slot(partial(_verify_sync, password, hashed))

    def is_current(self, hashed: str) -> bool:
        """Whether a stored hash has the configured cost; else login hashes it again."""
        return hash_rounds(hashed) == self.rounds

    async def prepare_dummy(self) -> str:
        """Made at start-up: made lazily, the first unknown email would cost a hash more."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        return self._dummy

    async def burn_dummy_verify(self, password: str) -> None:
        """Spend what a real check costs, so an unknown email cannot be told from a wrong
        password."""
        await self.verify(password, await self.prepare_dummy())

    async def _in_slot(self, work: Callable[[], T]) -> T:
        """Run `work` in a thread once a slot is free; only the wait is bounded, not the hash."""
        try:
            with anyio.fail_after(self.queue_seconds):
                await self.limiter.acquire()
        except TimeoutError as exc:
            raise HashingBusy() from exc
        try:
            return await anyio.to_thread.run_sync(work)
        finally:
            self.limiter.release()


def hash_rounds(hashed: str) -> int:
    """The cost a stored hash was made with (`$2b$12$...` -> 12)."""
    return int(hashed.split("$")[2])


def create_access_token(
    settings: Settings, user_id: int, role: str, version: int, now: datetime | None = None
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds.

    `ver` is the user's token version: bumping it in the database (password change,
    deactivation, role change) refuses every access token issued before, at once.
    """
    issued = now or datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "type": ACCESS_TOKEN_TYPE,
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "ver": version,
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's `Authorization: Bearer` header, else None.

    The one reading of it: the rate limiter, the caller check and the idempotency keys
    must agree on which token a request carries (the first such header, as Starlette's).
    """
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


VerifierKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: AccessClaims
    expires_at: int
    key: VerifierKey


VERIFIED_TOKENS_MAX = 10_000
"""At a few hundred bytes each, a few MB: far more tokens than one replica sees in 15 min."""


class VerifiedTokens:
    """What this replica found each access token to be: one per app, made by `create_app`.

    A mobile client sends the same token for its whole lifetime, and checking it costs
    ~150 µs of CPU (python-jose), the largest piece of a cached read. So a token that
    passed is remembered with its expiry, and only the expiry is checked again: the
    signature and the other claims of the same string cannot have changed. A refused
    token is remembered too, in a table of its own (a flood of bad tokens must not evict
    good ones), so the rate limiter and the caller check of one request, and a client
    retrying a stale token, verify it once. Each table keeps at most `max_size` tokens,
    the oldest dropped first. An answer holds for the key it was found under only: a
    token verified under another secret is checked again.
    """

    def __init__(self, max_size: int = VERIFIED_TOKENS_MAX) -> None:
        self.max_size = max_size
        self._passed: dict[str, _Verified] = {}
        self._refused: dict[str, VerifierKey] = {}

    def __len__(self) -> int:
        return len(self._passed) + len(self._refused)

    def claims(self, settings: Settings, token: str) -> AccessClaims:
        """The claims of a valid access token; `InvalidToken` for anything else."""
        key = _verifier_key(settings)
        known = self._passed.get(token)
        if known is not None and known.key == key:
            if _expired(known.expires_at):
                del self._passed[token]
                raise InvalidToken("Signature has expired.")
            return known.claims
        if self._refused.get(token) == key:
            raise InvalidToken("refused before")
        try:
            claims, expires_at = decode_access_token(settings, token)
        except InvalidToken as exc:
            if not isinstance(exc, NotYetValid):
                _remember(self._refused, token, key, self.max_size)
            raise
        _remember(self._passed, token, _Verified(claims, expires_at, key), self.max_size)
        return claims


V = TypeVar("V")


def _remember(table: dict[str, V], token: str, value: V, max_size: int) -> None:
    if len(table) >= max_size:
        del table[next(iter(table))]
    table[token] = value


def _verifier_key(settings: Settings) -> VerifierKey:
    """What a signature check depends on: a token verified under another secret is not."""
    return (settings.jwt_secret, settings.jwt_algorithm, settings.jwt_audience, settings.jwt_issuer)


def _expired(expires_at: int) -> bool:
    """The one expiry rule, for a token's first use and its cached uses alike: refused
    from `exp` on (RFC 7519: "on or after"). python-jose's own check compares whole
    seconds, so it takes a token for up to a second past its `exp`."""
    return time.time() >= expires_at


def decode_access_token(settings: Settings, token: str) -> tuple[AccessClaims, int]:
    """The full check of a token not seen before: its claims and its expiry.

    python-jose checks only what it is told, so every claim is required explicitly;
    it also takes `exp` as a numeric string and any `iat`, and `int()` would take
    `" +1 "`, non-ASCII digits or a `sub` past the id column's range: those are checked here.
    """
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_aud": True,
                "require_iss": True,
                "require_sub": True,
            },
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("type") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("not an access token")
    if not all(_is_int(claims.get(name)) for name in ("exp", "iat", "ver")):
        raise InvalidToken("exp, iat and ver must be integers")
    if _expired(claims["exp"]):
        raise InvalidToken("Signature has expired.")
    if claims["iat"] > time.time() + IAT_LEEWAY_SECONDS:
        raise NotYetValid("issued in the future")
    return AccessClaims(user_id=_user_id(claims["sub"]), version=claims["ver"]), claims["exp"]


def _is_int(value: object) -> bool:
    return type(value) is int


def _user_id(sub: object) -> int:
    """The canonical decimal of an id in the id column's range, or `InvalidToken`."""
    if not isinstance(sub, str) or not sub.isascii() or not sub.isdigit() or len(sub) > 10:
        raise InvalidToken("malformed subject")
    user_id = int(sub)
    if str(user_id) != sub or not 1 <= user_id <= MAX_DB_ID:
        raise InvalidToken("subject out of range")
    return user_id


REFRESH_TAG_BYTES = 12
"""96 bits: a forged tag is one guess in 2^96, checked in memory at no cost to the database."""


@lru_cache(maxsize=4)
def _family_tag_key(secret: str) -> bytes:
    """A key of its own, derived from `JWT_SECRET`: no tag is ever a token's signature.

    The cache is no mutable state a caller could change or observe: a pure function of
    an immutable string, so a rotated secret derives its own key.
    """
    return hmac.digest(secret.encode(), b"backoffice refresh-token family", "sha256")


def _family_tag(settings: Settings, family: str) -> str:
    tag = hmac.digest(_family_tag_key(settings.jwt_secret), family.encode(), "sha256")
    return base64.urlsafe_b64encode(tag[:REFRESH_TAG_BYTES]).decode()


def new_refresh_token(settings: Settings, family_id: int) -> str:
    """`<family id>.<tag>.<random>`: only its digest is ever stored.

    The tag (an HMAC of the family id) lets the rate limiter key a refresh by its
    sign-in without asking the database; the random part is what makes it a secret.
    """
    family = str(family_id)
    return f"{family}.{_family_tag(settings, family)}.{secrets.token_urlsafe(32)}"


def refresh_token_family(settings: Settings, token: str) -> int | None:
    """The family a refresh token's tag proves, or None (garbage, an older untagged
    token, or one tagged under another `JWT_SECRET`). Says nothing of validity: the
    database still checks the whole token."""
    family, _, rest = token.partition(".")
    tag, dot, _ = rest.partition(".")
    if not dot or not family.isascii() or not family.isdigit() or len(family) > 10:
        return None
    if not hmac.compare_digest(tag, _family_tag(settings, family)):
        return None
    return int(family)


def digest_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
