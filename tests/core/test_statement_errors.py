"""A failed statement's error, which the service logs, carries no bound value."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backoffice.db import create_engine
from backoffice.settings import Settings

SECRET = "reset-token-that-must-not-be-logged"


async def test_a_failed_statements_error_names_no_bound_value(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failure:
                await conn.execute(text("SELECT 1 / 0 WHERE :token <> ''"), {"token": SECRET})
    finally:
        await engine.dispose()
    assert "division by zero" in str(failure.value)
    assert SECRET not in str(failure.value)
