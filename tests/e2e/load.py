"""A bounded load of mixed reads and writes through the load balancer, recorded."""

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx

from tests.e2e.api import Member


@dataclass
class Outcome:
    """One request as the client saw it."""

    method: str
    path: str
    started: float
    finished: float
    status: int | None = None
    content_type: str = ""
    retry_after: str | None = None
    code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        what = self.error or f"{self.status} {self.content_type} code={self.code}"
        return f"{self.method} {self.path} at {self.started:.2f}: {what}"


@dataclass
class Load:
    """`clients` concurrent clients until `stop` is set, `max_seconds` pass or
    `max_requests` are sent; writes carry an `Idempotency-Key`.

    Each client pauses briefly between requests, as a mobile client does: on a
    2-core machine shared with other work, 32 clients without pauses measure the
    pool's queue (503 after `DB_POOL_TIMEOUT`), not the restart.
    """

    base_url: str
    members: list[Member]
    clients: int = 32
    max_seconds: float = 60
    max_requests: int = 20_000
    timeout: float = 20
    think_seconds: tuple[float, float] = (0.05, 0.25)
    outcomes: list[Outcome] = field(default_factory=list)
    items: dict[int, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        budget = itertools.count()
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(
            base_url=f"{self.base_url}/api/v1", timeout=self.timeout, limits=limits
        ) as client:

            async def one_client(n: int) -> None:
                member = self.members[n % len(self.members)]
                rng = random.Random(n)
                while (
                    not self.stop.is_set()
                    and time.monotonic() < deadline
                    and next(budget) < self.max_requests
                ):
                    await self._one_request(client, member, rng)
                    await asyncio.sleep(rng.uniform(*self.think_seconds))

            await asyncio.gather(*(one_client(n) for n in range(self.clients)))

    async def _one_request(
        self, client: httpx.AsyncClient, member: Member, rng: random.Random
    ) -> None:
        roll = rng.random()
        headers = member.headers
        if roll < 0.2:
            name = f"load {uuid.uuid4()}"
            keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            response = await self._send(
                client, "POST", "/items", json={"name": name, "price": "1.00"}, headers=keyed
            )
            if response is not None and response.status_code == 201:
                self.items[response.json()["id"]] = name
        elif roll < 0.3:
            message = f"load {uuid.uuid4()}"
            keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            response = await self._send(
                client, "POST", "/notifications", json={"message": message}, headers=keyed
            )
            if response is not None and response.status_code == 202:
                self.messages.append(message)
        elif roll < 0.5 and self.items:
            item_id = rng.choice(list(self.items))
            await self._send(client, "GET", f"/items/{item_id}", headers=headers)
        elif roll < 0.7:
            await self._send(client, "GET", "/users/me", headers=headers)
        else:
            await self._send(client, "GET", "/items", params={"limit": 5}, headers=headers)

    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        outcome = Outcome(method, path, time.monotonic(), 0.0)
        response = None
        try:
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            outcome.error = repr(exc)
        else:
            outcome.status = response.status_code
            outcome.content_type = response.headers.get("content-type", "")
            outcome.retry_after = response.headers.get("retry-after")
            if outcome.content_type == "application/json" and not outcome.ok:
                body = response.json()
                outcome.code = body.get("code") if isinstance(body, dict) else None
        outcome.finished = time.monotonic()
        self.outcomes.append(outcome)
        return response

    def summary(self) -> str:
        """What ran, printed by the tests (pytest shows it with -s or on failure)."""
        span = max(o.finished for o in self.outcomes) - min(o.started for o in self.outcomes)
        return (
            f"{len(self.outcomes)} requests in {span:.1f} s from {self.clients} clients, "
            f"{len(self.failures)} failed, {len(self.items)} items and "
            f"{len(self.messages)} notifications acknowledged"
        )

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]
