"""Request budgets per signed-in user and per client IP, in this replica's memory.

The budget grammar (`600/minute;40/second`) is parsed by `limits`. The counters are
the sliding-window counter `limits` uses (the previous window's count, weighted by how
much of it still overlaps the last `w` seconds, plus the current window's count), kept
here in a bounded LRU table rather than in `limits`' memory storage, for measured reasons
(docs/benchmarks.md): that storage costs 15-26 µs per hit on its own, never bounds its
key count, and expires keys by sweeping every key after each hit, O(keys) per request.

Keys are the verified token subject (`user:<id>`), or for requests without a valid
token the client address uvicorn derived from trusted proxy headers (an IPv6 client by
its /64, which one subscriber usually owns whole; an IPv4-mapped one by its IPv4
address): a coarse flood guard, sized for many people behind one address. The auth
routes add budgets keyed by what their body proves (`backoffice.auth.budgets`): an
email, a refresh token's family, or, proving nothing, the address again.
"""

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.responses import JSONResponse
from limits import parse_many
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backoffice.errors import RateLimited, error_response, error_responses, merge_responses
from backoffice.security import InvalidToken, VerifiedTokens, bearer_token
from backoffice.settings import IPAddress, IPNetwork, Settings

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
                "token, per client address; sign-in also per email, refresh and sign-out per "
                "sign-in (token family), registration per address. Every limited response "
                "carries the `RateLimit-Policy` and `RateLimit` headers"
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

    def give_back(self, key: str) -> None:
        """Take back one counted request (from the previous window if the current one has none)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        now = self.clock()
        for base, budget in self._layout:
            self._roll(entry, base, budget.seconds, now)
            if entry[base + 2] >= 1:
                entry[base + 2] -= 1
            elif entry[base + 1] >= 1:
                entry[base + 1] -= 1

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


def client_address(host: str) -> IPAddress | None:
    """`scope["client"]`'s host as an address; an IPv4-mapped IPv6 one as its IPv4 address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_key(scope: Scope) -> str:
    """The client address from `scope["client"]`, as uvicorn set it from trusted proxies only.

    A dual-stack listener (or a proxy) gives an IPv4 client as `::ffff:a.b.c.d`: that is
    the IPv4 address, not a share of the one `::/64` every IPv4 client would fall into.
    """
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" in host:
        address = client_address(host)
        if isinstance(address, ipaddress.IPv6Address):
            host = str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
        elif address is not None:
            host = str(address)
    return f"ip:{host}"


class RateLimitTables(NamedTuple):
    """One table per kind of key, so a flood of one kind can never push out another's counts."""

    users: WindowCounters
    """`RATE_LIMIT_USER`, per verified access-token subject."""
    anonymous: WindowCounters
    """`RATE_LIMIT_ANON`, per address: every request without a valid token (a flood guard)."""
    sign_in: WindowCounters
    """`RATE_LIMIT_SIGN_IN`, per normalised email."""
    refresh: WindowCounters
    """`RATE_LIMIT_REFRESH`, per refresh-token family its tag proves."""
    unproven_refresh: WindowCounters
    """`RATE_LIMIT_REFRESH_UNPROVEN`, per address: refresh tokens without a valid tag."""
    register: WindowCounters
    """`RATE_LIMIT_REGISTER`, per address."""
    account_links: WindowCounters
    """`RATE_LIMIT_ACCOUNT_LINKS`, per address: forgotten password, reset, verification."""


LIMITER_STATE = "rate_limiter"
"""Where a counted request's state holds the middleware, for the route-level budgets."""
ROUTE_VERDICT_STATE = "rate_limit_route_verdict"
REFUSED_TOKENS_MAX = 10_000


class RateLimitMiddleware:
    """429 `rate_limited` once a caller's budget is spent; `RateLimit` headers on the others.

    A bearer token is verified here, through the app's `VerifiedTokens`, where the caller
    check then finds the answer instead of verifying the token again. A token that fails
    verification counts against the client address (the route still answers 401).

    A token that verifies but fails the caller check (an older token version, a
    deactivated user) answers 401: its hit goes back to the user and is counted against
    the address instead, and the token is remembered (at most `REFUSED_TOKENS_MAX`, the
    oldest dropped first), so its next requests count against the address before the
    route runs, and are refused there, without a database round trip, once the address
    budget is spent. A version only ever moves forward, so such a token never passes again.

    Routes whose body proves who is asking (sign-in, refresh, registration) spend a
    budget keyed by that proof too (`spend_route_budget`), after the body is parsed and
    before any database work; this middleware adds that budget's fields to the headers.
    """

    def __init__(
        self, app: ASGIApp, settings: Settings, tables: RateLimitTables, tokens: VerifiedTokens
    ) -> None:
        self.app = app
        self.settings = settings
        self.tokens = tokens
        self.tables = tables
        self.users = tables.users
        self.anonymous = tables.anonymous
        exempt = settings.rate_limit_exempt_paths
        self.exempt_exact = frozenset(p for p in exempt if not p.endswith("*"))
        self.exempt_prefixes = tuple(p.removesuffix("*") for p in exempt if p.endswith("*"))
        networks = settings.rate_limit_exempt_networks
        self.exempt_hosts: Callable[[str], bool] | None = (
            lru_cache(maxsize=4096)(partial(_in_networks, networks)) if networks else None
        )
        self.refused_tokens: dict[str, None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        token = bearer_token(scope)
        user_key = None if token is None else self._user_key(token)
        if user_key is None:
            verdict = self.anonymous.hit(client_key(scope))
        else:
            verdict = self.users.hit(user_key)
        state[LIMITER_STATE] = self

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                counted = verdict
                if token is not None and user_key is not None and message["status"] == 401:
                    counted = self._charge_address_instead(scope, user_key, token)
                route = state.get(ROUTE_VERDICT_STATE)
                if route is None:
                    policy, remaining = counted.policy, counted.state
                else:
                    policy = counted.policy + b", " + route.policy
                    remaining = counted.state + b", " + route.state
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"ratelimit-policy", policy),
                    (b"ratelimit", remaining),
                ]
            await send(message)

        if verdict.allowed:
            await self.app(scope, receive, send_with_headers)
        else:
            await _refusal(scope, verdict.retry_after)(scope, receive, send_with_headers)

    def _exempt(self, scope: Scope) -> bool:
        path = scope["path"]
        if path in self.exempt_exact or path.startswith(self.exempt_prefixes):
            return True
        if self.exempt_hosts is None:
            return False
        client = scope.get("client")
        return client is not None and self.exempt_hosts(client[0])

    def _user_key(self, token: str) -> str | None:
        """`user:<id>` of a verified bearer token not refused by the caller check before."""
        if self.refused_tokens and token in self.refused_tokens:
            return None
        try:
            claims = self.tokens.claims(self.settings, token)
        except InvalidToken:
            return None
        return f"user:{claims.user_id}"

    def _charge_address_instead(self, scope: Scope, user_key: str, token: str) -> Verdict:
        self.users.give_back(user_key)
        refused = self.refused_tokens
        if len(refused) >= REFUSED_TOKENS_MAX:
            del refused[next(iter(refused))]
        refused[token] = None
        return self.anonymous.hit(client_key(scope))

    def spend(self, scope: Scope, table: WindowCounters, key: str) -> None:
        """Count a request against a route-level budget; `RateLimited` when it is spent."""
        verdict = table.hit(key)
        scope["state"][ROUTE_VERDICT_STATE] = verdict
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)


def spend_route_budget(
    request: Request, table: Callable[[RateLimitTables], WindowCounters], key: str | None = None
) -> None:
    """Spend the budget `table` picks, keyed by `key` or else by the client address.

    Nothing when the request is not counted (limiter off, an exempt path or address).
    """
    limiter: RateLimitMiddleware | None = request.scope.get("state", {}).get(LIMITER_STATE)
    if limiter is not None:
        limiter.spend(request.scope, table(limiter.tables), key or client_key(request.scope))


def _refusal(scope: Scope, retry_after: int) -> JSONResponse:
    """The 429 of a budget spent in the middleware, as a route's `RateLimited` would be."""
    refused = RateLimited(retry_after)
    return error_response(
        scope.get("state", {}).get("request_id"),
        refused.status_code,
        refused.code,
        refused.detail,
        refused.headers,
    )


def _in_networks(networks: tuple[IPNetwork, ...], host: str) -> bool:
    address = client_address(host)
    return address is not None and any(address in network for network in networks)


def rate_limit_tables(settings: Settings) -> RateLimitTables:
    replicas, max_keys = settings.rate_limit_replicas, settings.rate_limit_max_keys

    def table(name: str, text: str) -> WindowCounters:
        return WindowCounters(parse_budgets(name, text, replicas), max_keys)

    return RateLimitTables(
        users=table("user", settings.rate_limit_user),
        anonymous=table("anon", settings.rate_limit_anon),
        sign_in=table("sign-in", settings.rate_limit_sign_in),
        refresh=table("refresh", settings.rate_limit_refresh),
        unproven_refresh=table("refresh-unproven", settings.rate_limit_refresh_unproven),
        register=table("register", settings.rate_limit_register),
        account_links=table("account-links", settings.rate_limit_account_links),
    )
