"""Idempotent creation: a retried POST with the same key replays the first response.

Each step runs in a short transaction of its own (from the app's sessionmaker), apart
from the request's session, so the claim is visible to every replica at once and two
concurrent requests with one key do the work once: the second waits for the first
and replays its response.
"""

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backoffice.auth.service import authenticate
from backoffice.errors import DATABASE_ERRORS, Conflict, InvalidInput, Unauthorized
from backoffice.idempotency.repository import IdempotencyRepository
from backoffice.security import VerifiedTokens
from backoffice.settings import Settings
from backoffice.sql import constraint_name
from backoffice.users.service import UserLookup

logger = logging.getLogger("backoffice.idempotency")

KEY_TTL_SECONDS = 24 * 3600
STALE_SECONDS = 600
"""A claim left unfinished this long belonged to a request that died; it may be retaken.

Longer than any request lives (uploads of `MAX_UPLOAD_BYTES` on a slow network
included): a live request's claim must never be taken over. The cost: a request that
died after committing its work but before storing its response makes retries wait
(409) for this long, then does the work again. Storing the response in the work's own
transaction would close that window; the work and the response are made in different
layers (service and route), so that is left for when it matters."""
USER_FOREIGN_KEY = "fk_idempotency_keys_user_id_users"
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    content_type: str | None
    body: bytes


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed; retry later"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": str(max(1, math.ceil(WAIT_SECONDS)))})


class KeyReusedWithAnotherBody(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            ["header", "Idempotency-Key"],
            "This Idempotency-Key was already used with a different request body",
        )


class IdempotencyService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def begin(self, user_id: int, key: str, request_hash: str) -> int | StoredResponse:
        """Claim the key (its claim id: do the work) or return the response to replay."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            async with self._claiming(), self.sessionmaker() as session, session.begin():
                repo = IdempotencyRepository(session)
                await repo.drop_dead(user_id, key, KEY_TTL_SECONDS, STALE_SECONDS)
                # Look before claiming: a waiting retry polls with reads, and only a
                # real race spends an identity value on a conflicting insert.
                state = await repo.state(user_id, key)
                if state is None:
                    claim_id = await repo.claim(user_id, key, request_hash)
                    if claim_id is not None:
                        return claim_id
                    state = await repo.state(user_id, key)
            if state is None:
                continue  # released between our claim and our read: claim again
            if state.request_hash != request_hash:
                raise KeyReusedWithAnotherBody()
            if state.completed and state.status_code is not None:
                return StoredResponse(
                    state.status_code, state.content_type, state.response_body or b""
                )
            if asyncio.get_running_loop().time() >= deadline:
                raise KeyInUse()
            await asyncio.sleep(POLL_SECONDS)

    @asynccontextmanager
    async def _claiming(self) -> AsyncIterator[None]:
        """A claim that names a user gone since `caller` passed (deleted meanwhile)
        breaks the foreign key: that caller is refused as a deleted user's token is."""
        try:
            yield
        except IntegrityError as exc:
            if constraint_name(exc) != USER_FOREIGN_KEY:
                raise
            raise Unauthorized() from exc

    async def complete(
        self, claim_id: int, status_code: int, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Store the response to replay; never turns the committed work into an error.

        If storing fails, the work stands and the client gets its response; a retry
        then waits (409) until the claim is stale, and would do the work again.
        """
        try:
            async with self.sessionmaker() as session, session.begin():
                repo = IdempotencyRepository(session)
                await repo.complete(claim_id, status_code, headers.get("content-type"), body)
        except DATABASE_ERRORS:
            logger.exception("could not store the response of idempotency claim %s", claim_id)

    async def release(self, claim_id: int) -> None:
        """Forget an unfinished claim, so a retry does the work (the first attempt failed)."""
        async with self.sessionmaker() as session, session.begin():
            await IdempotencyRepository(session).release(claim_id)

    async def caller(self, token: str, tokens: VerifiedTokens) -> int | None:
        """The active user behind a bearer token, checked as every route checks it.

        Keys belong to signed-in, active users; anyone else gets the route's own 401.
        """
        async with self.sessionmaker() as session:
            try:
                principal = await authenticate(self.settings, UserLookup(session), tokens, token)
            except Unauthorized:
                return None
        return principal.id
