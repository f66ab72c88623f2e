"""The database: the engines (`engine`), `DB_STATEMENT_TIMEOUT_MS` (`statement_timeout`),
the pool gate (`gate`), and the sessions every request opens (`session`)."""

from backoffice.db.engine import create_engine, create_probe_engine
from backoffice.db.gate import ConnectionGate, create_gate
from backoffice.db.session import (
    Database,
    GatedSession,
    SessionDep,
    database_of,
    execute_first,
    get_session,
    on_request_session,
    sessionmaker_of,
)
from backoffice.db.statement_timeout import apply_statement_timeout, warn_on_statement_timeout

__all__ = [
    "ConnectionGate",
    "Database",
    "GatedSession",
    "SessionDep",
    "apply_statement_timeout",
    "create_engine",
    "create_gate",
    "create_probe_engine",
    "database_of",
    "execute_first",
    "get_session",
    "on_request_session",
    "sessionmaker_of",
    "warn_on_statement_timeout",
]
