"""The service through a stock PgBouncer in transaction mode, from deploy/pgbouncer.ini."""

import asyncpg
import httpx

from tests.e2e.api import sign_up
from tests.e2e.stack import Stack


def test_ready_through_pgbouncer(stack: Stack) -> None:
    stack.serve(through="pgbouncer")
    ready = httpx.get(f"{stack.replicas[0].base_url}/health/ready", timeout=30)
    assert ready.status_code == 200


async def test_statement_timeout_holds_through_pgbouncer(stack: Stack) -> None:
    """A statement stuck behind a lock is cancelled by the server and answered 503.

    The replicas' driver timeout is 60 s and the client's 30 s: only the role's
    statement timeout (2 s, set by `backoffice migrate`) can answer in time.
    """
    stack.serve(through="pgbouncer")
    member = sign_up(stack.nginx.base_url)
    blocker = await asyncpg.connect(stack.direct_url.replace("postgresql://", "postgres://"))
    try:
        async with blocker.transaction():
            await blocker.execute("SELECT 1 FROM users WHERE email = $1 FOR UPDATE", member.email)
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.patch(
                    f"{stack.nginx.base_url}/api/v1/users/me",
                    json={"full_name": "Blocked"},
                    headers=member.headers,
                )
    finally:
        await blocker.close()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0


async def test_pgbouncer_sessions_get_the_role_statement_timeout(stack: Stack) -> None:
    connection = await asyncpg.connect(stack.pooled_url, statement_cache_size=0)
    try:
        value = await connection.fetchval("SHOW statement_timeout")
    finally:
        await connection.close()
    assert value == "2s"
