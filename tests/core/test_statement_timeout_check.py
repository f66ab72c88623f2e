"""Start-up says so when the database's statement timeout is not `DB_STATEMENT_TIMEOUT_MS`.

The setting reaches the database only through `backoffice migrate` (the role's default);
a replica started with another value would otherwise believe a timeout nobody applies.
"""

import logging

import pytest
from fastapi import FastAPI

from backoffice.main import create_app
from backoffice.settings import Settings

MIGRATED_MS = Settings.model_fields["db_statement_timeout_ms"].default
"""What the suite's database holds: `tests/conftest.py` migrates with the default."""


async def start_and_stop(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass


def mismatches(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "backoffice.db" and r.levelno >= logging.WARNING]


async def test_start_up_warns_once_when_the_statement_timeout_differs(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    other = settings.model_copy(update={"db_statement_timeout_ms": MIGRATED_MS + 1})
    with caplog.at_level(logging.DEBUG, logger="backoffice.db"):
        await start_and_stop(create_app(other))
    [warning] = mismatches(caplog)
    message = warning.getMessage()
    assert f"is {MIGRATED_MS} ms" in message
    assert f"DB_STATEMENT_TIMEOUT_MS is {MIGRATED_MS + 1}" in message
    assert "run `backoffice migrate`" in message


async def test_start_up_is_silent_when_the_statement_timeout_matches(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.db_statement_timeout_ms == MIGRATED_MS
    with caplog.at_level(logging.DEBUG, logger="backoffice.db"):
        await start_and_stop(create_app(settings))
    assert mismatches(caplog) == []


async def test_start_up_skips_the_check_without_a_warning_when_the_database_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = settings.model_copy(
        update={
            "database_url": "postgresql://nobody@127.0.0.1:9/none",
            "db_connect_timeout": 1,
            "db_statement_timeout_ms": MIGRATED_MS + 1,
        }
    )
    with caplog.at_level(logging.DEBUG, logger="backoffice.db"):
        await start_and_stop(create_app(down))
    assert mismatches(caplog) == []
    assert any("not checked" in r.getMessage() for r in caplog.records)
