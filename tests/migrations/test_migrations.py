"""The revision chain builds, tears down and rebuilds the schema the models describe."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice.cli import alembic_config
from backoffice.model_registry import Base

SCRATCH_DB = "migration_check"


@pytest.fixture
async def scratch_url(engine: AsyncEngine, migrated_url: str) -> AsyncIterator[str]:
    """An empty database of its own, so tearing the schema down disturbs no other test."""
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {SCRATCH_DB}"))
    yield make_url(migrated_url).set(database=SCRATCH_DB).render_as_string(hide_password=False)
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"))


def run_alembic(url: str, action: str, target: str) -> None:
    getattr(command, action)(alembic_config(url), target)


async def tables(url: str) -> set[str]:
    eng = create_async_engine(url)
    try:
        async with eng.connect() as conn:
            rows = await conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return set(rows) - {"alembic_version"}
    finally:
        await eng.dispose()


async def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    await asyncio.to_thread(run_alembic, scratch_url, "upgrade", "head")
    assert await tables(scratch_url) == set(Base.metadata.tables)
    await asyncio.to_thread(run_alembic, scratch_url, "downgrade", "base")
    assert await tables(scratch_url) == set()
    await asyncio.to_thread(run_alembic, scratch_url, "upgrade", "head")
    assert await tables(scratch_url) == set(Base.metadata.tables)


async def test_autogenerate_finds_no_difference(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_users_from_before_0010_count_as_verified_and_new_ones_do_not(
    scratch_url: str,
) -> None:
    """`REQUIRE_VERIFIED_EMAIL` must not lock out the accounts that never had a link."""
    insert = text(
        "INSERT INTO users (email, hashed_password, full_name) VALUES (:email, 'x', 'User')"
    )
    await asyncio.to_thread(run_alembic, scratch_url, "upgrade", "0009")
    eng = create_async_engine(scratch_url)
    try:
        async with eng.begin() as conn:
            await conn.execute(insert, {"email": "old@example.com"})
        await asyncio.to_thread(run_alembic, scratch_url, "upgrade", "head")
        async with eng.begin() as conn:
            await conn.execute(insert, {"email": "new@example.com"})
            rows = await conn.execute(text("SELECT email, email_verified FROM users ORDER BY id"))
            assert [tuple(row) for row in rows] == [
                ("old@example.com", True),
                ("new@example.com", False),
            ]
    finally:
        await eng.dispose()
