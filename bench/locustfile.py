"""Locust scenario of a mobile client (`make loadtest` runs it; see bench/loadtest.py).

    uv run --group load locust -f bench/locustfile.py --host http://127.0.0.1:8000

Each simulated user is one phone: on start it registers a fresh account (uuid email),
signs in with `POST /api/v1/auth/login` (JSON), creates an account (organisation) and a
few items. Then, with weights and a short think time, it browses and searches the
catalogue, opens items, creates items (with an `Idempotency-Key`, sometimes sending the
same request again as a flaky network would, and checking that the replay returns the
same item), refreshes its token pair, manages its account's employees, uploads a small
PNG and reads its notifications.

Requests are named by route template (`/api/v1/items/{id}`) so the statistics group.
Every response is checked: an unexpected status (any 5xx, or a 4xx that the step does
not expect) or a malformed body is a failure. A 429 is what a real phone meets behind a
busy carrier address, and a 503 with `Retry-After` what it meets in a sign-in storm
(`busy`: the bcrypt queue is full): like the app, the client waits the `Retry-After` it
was given (at most `MAX_RETRY_AFTER` seconds, plus up to a second of jitter so that
phones refused together do not all come back at once) and sends the same request again,
for up to `THROTTLE_PATIENCE_SECONDS` of waiting in all; such an answer is counted in its
own column (`throttled`), not as a failure, and only the last one, when the patience is
spent, fails the request.
With `LOADTEST_FAILURE_LOG=path`, each failure is also appended to that file as one
JSON line: the request (method, path, body, headers without the token) and the
response (status, headers, body), so that a failure can be replayed and looked up in
the service's log by its request id.
"""

import collections
import json
import os
import random
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from typing import Any

import gevent
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.stats import StatsEntry

API = "/api/v1"
PASSWORD = "load-test-password-1"  # noqa: S105 (throw-away users of the load test)
ADJECTIVES = ["vintage", "modern", "rustic", "compact", "deluxe", "classic", "smart", "wooden"]
NOUNS = ["lamp", "chair", "desk", "kettle", "speaker", "backpack", "clock", "mirror", "sofa"]
CATEGORIES = ["home", "office", "kitchen", "audio", "travel", "decor"]
DEPARTMENTS = ["sales", "support", "engineering", "finance", "ops"]
TITLES = ["Manager", "Engineer", "Analyst", "Agent", "Lead"]
FAILURE_LOG = os.environ.get("LOADTEST_FAILURE_LOG")
STATS_JSON = os.environ.get("LOADTEST_STATS_JSON")
BCRYPT_ROUTES = {f"{API}/auth/register", f"{API}/auth/login"}
STEADY = "all but register and login"
THROTTLE_PATIENCE_SECONDS = 120.0
MAX_RETRY_AFTER = 60.0
_failure_lock = threading.Lock()
# 429s that were waited out and retried, by request name (gevent: one thread, no lock).
throttled: collections.Counter[str] = collections.Counter()

# Python's `random` is fine for test data: nothing here is a secret.
rng = random.Random()  # noqa: S311


def png(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG of one random colour (a few hundred bytes)."""
    colour = bytes(rng.randrange(256) for _ in range(3))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def multipart(field: str, filename: str, content_type: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, and its Content-Type header."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class Mismatch(Exception):
    """A response with the expected status whose body is not what the step expects."""


def require(condition: object, message: str) -> None:
    if not condition:
        raise Mismatch(message)


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    """With `LOADTEST_STATS_JSON=path`, write the final statistics there on the way out.

    Locust's `--csv` files are refreshed every few seconds and can miss the last
    requests; this runs after the users stopped, from the same numbers as the summary.
    """
    if not STATS_JSON:
        return

    def save(**_: Any) -> None:
        stats = environment.stats
        # The steady state: everything but the bcrypt-bound sign-up and sign-in.
        steady = StatsEntry(stats, STEADY, "")
        for entry in stats.entries.values():
            if entry.name not in BCRYPT_ROUTES:
                steady.extend(entry)
        steady.start_time = stats.total.start_time
        entries = [*stats.entries.values(), steady, stats.total]
        steady_throttled = sum(n for name, n in throttled.items() if name not in BCRYPT_ROUTES)
        counts = {id(steady): steady_throttled, id(stats.total): sum(throttled.values())}
        rows = [
            {
                "method": entry.method or "",
                "name": entry.name,
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "throttled": counts.get(id(entry), throttled[entry.name]),
                "rps": entry.total_rps,
                **{
                    f"p{int(q * 100)}": entry.get_response_time_percentile(q) or 0
                    for q in (0.5, 0.95, 0.99, 1.0)
                },
            }
            for entry in entries
        ]
        with open(STATS_JSON, "w") as out:
            json.dump(rows, out, indent=1)

    environment.events.quit.add_listener(save)


def log_failure(
    method: str, path: str, body: Any, headers: dict[str, str], resp: Any, why: str
) -> None:
    if not FAILURE_LOG:
        return
    if isinstance(body, bytes):
        body = f"<{len(body)} bytes>"
    record = {
        "why": f"{method} {path}: {why}",
        "request": {
            "method": method,
            "path": path,
            "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"},
            "body": body,
        },
        "response": {
            "status": resp.status_code,
            "headers": dict(resp.headers or {}),
            "body": (resp.text or "")[:2000] if resp.content else None,
            "error": repr(resp.error) if resp.error else None,
        },
    }
    with _failure_lock, open(FAILURE_LOG, "a") as out:
        out.write(json.dumps(record, default=str) + "\n")


class MobileClient(FastHttpUser):
    """One phone running the app: a user of its own, an account, items, employees."""

    wait_time = between(0.1, 0.6)

    def on_start(self) -> None:
        self.email = f"load-{uuid.uuid4().hex}@example.com"
        self.access_token = ""
        self.refresh_token = ""
        self.account_id: int | None = None
        self.my_items: list[tuple[int, str]] = []  # (id, name)
        self.seen_items: list[int] = []
        self.employees: list[int] = []
        self.register_and_login()
        self.create_account()
        for _ in range(3):
            self.create_item(retry_chance=0.0)

    # -- plumbing ------------------------------------------------------------------

    @contextmanager
    def call(
        self,
        method: str,
        path: str,
        name: str,
        expect: tuple[int, ...],
        *,
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Iterator[Any]:
        """One request; a failure unless its status is in `expect` and the `with` passes.

        Yields the parsed JSON body (or None); an exception raised in the `with` block
        (a KeyError on a malformed body, an AssertionError) marks the request failed.
        """
        sent = dict(headers or {})
        if auth:
            sent["Authorization"] = f"Bearer {self.access_token}"
        kwargs: dict[str, Any] = {"json": body} if data is None else {"data": data}
        waited = 0.0
        while True:
            with self.client.request(
                method, path, name=name, headers=sent, catch_response=True, **kwargs
            ) as resp:
                wait = self.throttled_wait(resp, expect, waited)
                if wait is None:
                    yield from self.check(resp, expect, method, path, body, data, sent)
                    return
                throttled[name] += 1
                resp.success()
            gevent.sleep(wait)
            waited += wait

    @staticmethod
    def throttled_wait(resp: Any, expect: tuple[int, ...], waited: float) -> float | None:
        """Seconds to wait before sending a refused request again; None to take the answer."""
        status, retry_after = resp.status_code, resp.headers.get("Retry-After")
        if status in expect or waited >= THROTTLE_PATIENCE_SECONDS:
            return None
        if status != 429 and not (status == 503 and retry_after):
            return None
        try:
            wait = float(retry_after or "1")
        except ValueError:
            wait = 1.0
        return min(max(wait, 0.0), MAX_RETRY_AFTER) + rng.uniform(0, 1.0)

    @staticmethod
    def check(
        resp: Any,
        expect: tuple[int, ...],
        method: str,
        path: str,
        body: Any,
        data: bytes | None,
        sent: dict[str, str],
    ) -> Iterator[Any]:
        """Yields the parsed body of an expected answer; anything else fails the request."""
        if resp.status_code not in expect:
            code = ""
            with suppress(ValueError, TypeError, AttributeError):  # no JSON object
                code = f" {resp.json().get('code', '')}".rstrip()
            why = f"status {resp.status_code}{code}, expected {expect}"
            if resp.error and not resp.status_code:
                why = type(resp.error).__name__
            log_failure(method, path, body if data is None else data, sent, resp, why)
            resp.failure(why)
            yield None
            return
        try:
            yield resp.json() if resp.content else None
        except Exception as exc:  # any broken expectation is a failure
            why = f"{type(exc).__name__}: {exc}"
            log_failure(method, path, body if data is None else data, sent, resp, why)
            resp.failure(why)
        else:
            resp.success()

    @staticmethod
    def check_page(page: Any) -> list[dict[str, Any]]:
        require(isinstance(page["items"], list), "no items list")
        require(isinstance(page["total"], int), "no total")
        return list(page["items"])

    def remember(self, items: list[dict[str, Any]]) -> None:
        self.seen_items.extend(int(item["id"]) for item in items)
        del self.seen_items[:-200]

    # -- auth ----------------------------------------------------------------------

    def register_and_login(self) -> None:
        register = {"email": self.email, "password": PASSWORD, "full_name": "Load Test"}
        with self.call(
            "POST",
            f"{API}/auth/register",
            f"{API}/auth/register",
            (201,),
            body=register,
            auth=False,
        ) as user:
            if user is not None:
                require(user["email"] == self.email, f"email {user['email']!r}")
        self.login()

    def login(self) -> None:
        body = {"email": self.email, "password": PASSWORD, "device": "Locust mobile client"}
        with self.call(
            "POST", f"{API}/auth/login", f"{API}/auth/login", (200,), body=body, auth=False
        ) as pair:
            if pair is not None:
                self.access_token = pair["access_token"]
                self.refresh_token = pair["refresh_token"]

    @task(1)
    def refresh(self) -> None:
        body = {"refresh_token": self.refresh_token}
        with self.call(
            "POST", f"{API}/auth/refresh", f"{API}/auth/refresh", (200,), body=body, auth=False
        ) as pair:
            if pair is not None:
                require(pair["refresh_token"] != self.refresh_token, "refresh token not rotated")
                self.access_token = pair["access_token"]
                self.refresh_token = pair["refresh_token"]

    @task(1)
    def me(self) -> None:
        with self.call("GET", f"{API}/users/me", f"{API}/users/me", (200,)) as user:
            if user is not None:
                require(user["email"] == self.email, f"email {user['email']!r}")

    # -- items ---------------------------------------------------------------------

    @task(10)
    def browse_items(self) -> None:
        query = {
            "sort": rng.choice(["name", "price", "created_at"]),
            "order": rng.choice(["asc", "desc"]),
            "limit": rng.choice([10, 20, 20, 50]),
        }
        if rng.random() < 0.3:
            query["skip"] = rng.choice([20, 40])
        if rng.random() < 0.2:
            query["category"] = rng.choice(CATEGORIES)
        path = f"{API}/items?" + "&".join(f"{k}={v}" for k, v in query.items())
        with self.call("GET", path, f"{API}/items", (200,)) as page:
            if page is not None:
                self.remember(self.check_page(page))

    @task(6)
    def search_items(self) -> None:
        word = rng.choice(ADJECTIVES + NOUNS)
        path = f"{API}/items?q={word}&limit=20"
        with self.call("GET", path, f"{API}/items?q=", (200,)) as page:
            if page is not None:
                items = self.check_page(page)
                for item in items:
                    text = f"{item['name']} {item.get('description') or ''}".lower()
                    require(word in text, f"{item['id']} does not match {word!r}")
                self.remember(items)

    @task(6)
    def get_item(self) -> None:
        if not self.seen_items:
            self.browse_items()
            return
        item_id = rng.choice(self.seen_items)
        with self.call("GET", f"{API}/items/{item_id}", f"{API}/items/{{id}}", (200,)) as item:
            if item is not None:
                require(item["id"] == item_id, f"asked for {item_id}, got {item['id']}")

    @task(3)
    def create_item(self, retry_chance: float = 0.25) -> None:
        words = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        body = {
            "name": f"{words.title()} {uuid.uuid4().hex[:10]}",
            "description": f"A {words} from the load test",
            "category": rng.choice(CATEGORIES),
            "price": f"{rng.uniform(1, 500):.2f}",
            "tax": f"{rng.uniform(0, 50):.2f}",
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.call(
            "POST", f"{API}/items", f"{API}/items", (201,), body=body, headers=headers
        ) as item:
            if item is None:
                return
            created = int(item["id"])
            self.my_items.append((created, body["name"]))
            self.seen_items.append(created)
        if rng.random() < retry_chance:
            # The phone lost the response and sends the very same request again.
            name = f"{API}/items [idempotent retry]"
            with self.call(
                "POST", f"{API}/items", name, (201,), body=body, headers=headers
            ) as replay:
                if replay is not None:
                    require(replay["id"] == created, f"replay made item {replay['id']}")

    @task(1)
    def create_duplicate_item(self) -> None:
        """A second item with the name of one of mine, in another case: 409."""
        if not self.my_items:
            return
        _, taken = rng.choice(self.my_items)
        body = {"name": taken.upper(), "price": "1.00"}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        name = f"{API}/items [duplicate name]"
        with self.call("POST", f"{API}/items", name, (409,), body=body, headers=headers) as error:
            if error is not None:
                require(error["code"], "409 without a code")

    # -- accounts and employees -------------------------------------------------------

    def create_account(self) -> None:
        body = {"name": f"Load Co {uuid.uuid4().hex[:8]}", "description": "load test"}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.call(
            "POST", f"{API}/accounts", f"{API}/accounts", (201,), body=body, headers=headers
        ) as account:
            if account is not None:
                self.account_id = int(account["id"])

    @task(3)
    def add_employee(self) -> None:
        if self.account_id is None:
            return
        body = {
            "full_name": f"Employee {uuid.uuid4().hex[:6]}",
            "email": f"e-{uuid.uuid4().hex[:12]}@example.com",
            "title": rng.choice(TITLES),
            "department": rng.choice(DEPARTMENTS),
            "hired_on": str(date(2010, 1, 1) + timedelta(days=rng.randrange(5000))),
        }
        path = f"{API}/accounts/{self.account_id}/employees"
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        name = f"{API}/accounts/{{id}}/employees"
        with self.call("POST", path, name, (201,), body=body, headers=headers) as employee:
            if employee is not None:
                require(employee["account_id"] == self.account_id, "another account")
                self.employees.append(int(employee["id"]))

    @task(3)
    def list_employees(self) -> None:
        if self.account_id is None:
            return
        path = (
            f"{API}/accounts/{self.account_id}/employees"
            f"?sort={rng.choice(['full_name', 'hired_on', 'created_at'])}"
            f"&order={rng.choice(['asc', 'desc'])}"
        )
        if rng.random() < 0.3:
            path += f"&department={rng.choice(DEPARTMENTS)}"
        with self.call("GET", path, f"{API}/accounts/{{id}}/employees", (200,)) as page:
            if page is not None:
                self.check_page(page)

    @task(2)
    def patch_employee(self) -> None:
        if self.account_id is None or not self.employees:
            return
        employee_id = rng.choice(self.employees)
        path = f"{API}/accounts/{self.account_id}/employees/{employee_id}"
        body = {"title": rng.choice(TITLES), "is_active": rng.random() < 0.8}
        name = f"{API}/accounts/{{id}}/employees/{{employee_id}}"
        with self.call("PATCH", path, name, (200,), body=body) as employee:
            if employee is not None:
                require(employee["title"] == body["title"], "title not changed")

    @task(1)
    def delete_employee(self) -> None:
        if self.account_id is None or len(self.employees) < 3:
            return
        employee_id = self.employees.pop(rng.randrange(len(self.employees)))
        path = f"{API}/accounts/{self.account_id}/employees/{employee_id}"
        name = f"{API}/accounts/{{id}}/employees/{{employee_id}}"
        with self.call("DELETE", path, name, (204,)):
            pass

    # -- files and notifications ----------------------------------------------------

    @task(1)
    def upload_file(self) -> None:
        data, content_type = multipart(
            "file", f"photo-{uuid.uuid4().hex[:6]}.png", "image/png", png()
        )
        headers = {"Content-Type": content_type, "Idempotency-Key": uuid.uuid4().hex}
        with self.call(
            "POST", f"{API}/files", f"{API}/files", (201,), data=data, headers=headers
        ) as file:
            if file is not None:
                require(file["content_type"] == "image/png", f"sniffed {file['content_type']}")

    @task(3)
    def read_notifications(self) -> None:
        unread = rng.random() < 0.7
        path = f"{API}/notifications?limit=20" + ("&unread=true" if unread else "")
        with self.call("GET", path, f"{API}/notifications", (200,)) as page:
            notes = self.check_page(page) if page is not None else []
        if unread and notes:
            note_id = rng.choice(notes)["id"]
            path = f"{API}/notifications/{note_id}/read"
            with self.call("POST", path, f"{API}/notifications/{{id}}/read", (204,)):
                pass
