"""Request budgets per signed-in user and per client IP, in this replica's memory.

The budget grammar (`600/minute;40/second`) is parsed by `limits`. The counters are
the sliding-window counter `limits` uses (the previous window's count, weighted by how
much of it still overlaps the last `w` seconds, plus the current window's count), kept
here in a bounded LRU table rather than in `limits`' memory storage, for measured reasons
(docs/benchmarks.md): that storage costs 15-26 µs per hit on its own, never bounds its
key count, and expires keys by sweeping every key after each hit, O(keys) per request.

Keys are the verified token subject (`user:<id>`), or for requests without a valid
token the client address uvicorn derived from trusted proxy headers (an IPv6 client by
its /64, which one subscriber usually owns whole).
"""

import contextlib
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from limits import parse_many
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.errors import RateLimited, error_response, error_responses, merge_responses
from backoffice.security import InvalidToken, verified_access_claims
from backoffice.settings import Settings

IPV6_PREFIX = 64

_HEADER_DOCS = {
    "RateLimit-Policy": 'The budgets that apply, e.g. `"user-60s";q=600;w=60` (IETF httpapi draft)',
    "RateLimit": 'Per budget, requests remaining and seconds to reset, e.g. `"user-60s";r=12;t=31`',
}
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = merge_responses(
    error_responses(RateLimited),
    {
        429: {
            "description": (
                "Request budget spent (`rate_limited`), per signed-in user or, without a valid "
                "token, per client address; every limited response carries the `RateLimit-Policy` "
                "and `RateLimit` headers"
            ),
            "headers": {
                "Retry-After": {
                    "description": "Whole seconds until a request would be allowed",
                    "schema": {"type": "integer"},
                },
                **{
                    name: {"description": text, "schema": {"type": "string"}}
                    for name, text in _HEADER_DOCS.items()
                },
            },
        }
    },
)


@dataclass(frozen=True, slots=True)
class Budget:
    """`amount` requests per `seconds`, under a policy name for the `RateLimit` headers."""

    name: str
    amount: int
    seconds: int


def parse_budgets(name: str, text: str, replicas: int = 1) -> tuple[Budget, ...]:
    """`600/minute;40/second` as budgets, each divided across `replicas` (never below 1)."""
    return tuple(
        Budget(f"{name}-{item.get_expiry()}s", max(1, item.amount // replicas), item.get_expiry())
        for item in parse_many(text)
    )


class Verdict(NamedTuple):
    """A tuple, not a dataclass: it is made on every request, and a tuple is made fastest."""

    allowed: bool
    retry_after: int
    """Whole seconds until a refused request would be allowed; 0 when allowed."""
    policy: bytes
    """The `RateLimit-Policy` field value."""
    state: bytes
    """The `RateLimit` field value: remaining quota and seconds to reset, per policy."""


class WindowCounters:
    """Sliding-window counters for one set of budgets, at most `max_keys` keys.

    Each key holds when it was last seen and, per budget, its window index and the
    previous and current counts. The table is in least-recently-used order: a new key
    first drops the entries idle for two of the longest windows (nothing is left of
    them), then, if still full, the least recently seen one, whose budget starts over,
    as nginx does when its zone is full.
    """

    def __init__(
        self,
        budgets: Sequence[Budget],
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budgets = tuple(budgets)
        self.max_keys = max_keys
        self.clock = clock
        self.idle_seconds = 2 * max(budget.seconds for budget in self.budgets)
        self.policy = ", ".join(
            f'"{b.name}";q={b.amount};w={b.seconds}' for b in self.budgets
        ).encode()
        self._layout = tuple((1 + 3 * i, b) for i, b in enumerate(self.budgets))
        self._entries: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def hit(self, key: str) -> Verdict:
        """Count one request against every budget, unless one of them is spent."""
        now = self.clock()
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            self._make_room(now)
            entry = entries[key] = [now] + [0.0] * (3 * len(self.budgets))
        else:
            entries.move_to_end(key)
            entry[0] = now
        weighted = [self._roll(entry, base, budget.seconds, now) for base, budget in self._layout]
        wait = max(
            (
                self._wait(entry, base, budget, now)
                for (base, budget), count in zip(self._layout, weighted, strict=True)
                if count >= budget.amount
            ),
            default=None,
        )
        if wait is None:
            for base, _ in self._layout:
                entry[base + 2] += 1
            weighted = [count + 1 for count in weighted]
        retry_after = 0 if wait is None else math.floor(wait) + 1
        return Verdict(wait is None, retry_after, self.policy, self._state(entry, weighted, now))

    def _make_room(self, now: float) -> None:
        entries = self._entries
        while entries and (
            len(entries) >= self.max_keys
            or next(iter(entries.values()))[0] <= now - self.idle_seconds
        ):
            entries.popitem(last=False)

    @staticmethod
    def _roll(entry: list[float], base: int, seconds: int, now: float) -> float:
        """Move one budget of `entry` to the current window; its weighted count."""
        window = now // seconds
        if entry[base] != window:
            entry[base + 1] = entry[base + 2] if entry[base] == window - 1 else 0.0
            entry[base + 2] = 0.0
            entry[base] = window
        return entry[base + 1] * (1 - (now / seconds - window)) + entry[base + 2]

    @staticmethod
    def _wait(entry: list[float], base: int, budget: Budget, now: float) -> float:
        """Seconds until a budget's weighted count falls below its amount."""
        amount, seconds = budget.amount, budget.seconds
        previous, current = entry[base + 1], entry[base + 2]
        elapsed = now / seconds - entry[base]
        if current < amount and previous > 0:
            return (1 - (amount - current) / previous - elapsed) * seconds
        until_next_window = (1 - elapsed) * seconds
        return until_next_window + seconds * max(0.0, 1 - amount / current)

    def _state(self, entry: list[float], weighted: list[float], now: float) -> bytes:
        items = []
        for (base, budget), count in zip(self._layout, weighted, strict=True):
            remaining = max(0, budget.amount - math.floor(count))
            if remaining:
                reset = math.ceil((entry[base] + 1) * budget.seconds - now)
            else:
                reset = math.floor(self._wait(entry, base, budget, now)) + 1
            items.append(f'"{budget.name}";r={remaining};t={reset}')
        return ", ".join(items).encode()


def client_key(scope: Scope) -> str:
    """The client address from `scope["client"]`, as uvicorn set it from trusted proxies only."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" in host:
        with contextlib.suppress(ValueError):
            host = str(ipaddress.IPv6Network(f"{host}/{IPV6_PREFIX}", strict=False))
    return f"ip:{host}"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class RateLimitMiddleware:
    """429 `rate_limited` once a caller's budget is spent; `RateLimit` headers on the others.

    A bearer token is verified here, once: the result goes into the request state, where
    the caller check finds it instead of verifying the token again. A token that fails
    verification counts against the client address (the route still answers 401).
    """

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        users: WindowCounters,
        anonymous: WindowCounters,
    ) -> None:
        self.app = app
        self.settings = settings
        self.users = users
        self.anonymous = anonymous
        exempt = settings.rate_limit_exempt_paths
        self.exempt_exact = frozenset(p for p in exempt if not p.endswith("*"))
        self.exempt_prefixes = tuple(p.removesuffix("*") for p in exempt if p.endswith("*"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        verdict = self._hit(scope)
        if not verdict.allowed:
            await self._refuse(scope, receive, send, verdict)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"ratelimit-policy", verdict.policy),
                    (b"ratelimit", verdict.state),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _exempt(self, path: str) -> bool:
        return path in self.exempt_exact or path.startswith(self.exempt_prefixes)

    def _hit(self, scope: Scope) -> Verdict:
        token = bearer_token(scope)
        if token is not None:
            state: dict[str, Any] = scope.setdefault("state", {})
            try:
                claims = verified_access_claims(self.settings, token, state)
            except InvalidToken:
                pass
            else:
                return self.users.hit(f"user:{claims.user_id}")
        return self.anonymous.hit(client_key(scope))

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, verdict: Verdict) -> None:
        refused = RateLimited(verdict.retry_after)
        response = error_response(
            scope.get("state", {}).get("request_id"),
            refused.status_code,
            refused.code,
            refused.detail,
            {
                **refused.headers,
                "RateLimit-Policy": verdict.policy.decode(),
                "RateLimit": verdict.state.decode(),
            },
        )
        await response(scope, receive, send)


def rate_limit_counters(settings: Settings) -> tuple[WindowCounters, WindowCounters]:
    """Separate tables, so a flood of new addresses can never push out a user's count."""
    replicas = settings.rate_limit_replicas
    return (
        WindowCounters(
            parse_budgets("user", settings.rate_limit_user, replicas), settings.rate_limit_max_keys
        ),
        WindowCounters(
            parse_budgets("anon", settings.rate_limit_anon, replicas), settings.rate_limit_max_keys
        ),
    )
