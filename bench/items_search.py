"""Benchmark (not a test): the catalogue's search at 1,000,000 items.

    uv run python bench/items_search.py                     # throw-away embedded PostgreSQL
    uv run python bench/items_search.py --database-url URL  # yours: its items are replaced!

Builds the schema with Alembic (so the indexes are the real ones), fills `items` with
SQL (`generate_series`; the indexes are dropped for the load and rebuilt from their own
definitions afterwards, which is several times faster than maintaining them row by
row), runs ANALYZE, then prints `EXPLAIN (ANALYZE, BUFFERS)` and median timings of the
exact statements `GET /items` sends (built by `backoffice.items.repository.search_query`
and compiled with literal values):
- a `q` search (ILIKE '%...%' on name or description: pg_trgm GIN indexes),
- a category + price-range filter sorted by price (the (category, price, id) btree),
each as the one statement a page sends (LIMIT 20, the total in a subquery) and the
count alone that a page past the end sends instead.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Select, select, text
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from backoffice import embedded_db
from backoffice.cli import alembic_config
from backoffice.items.repository import search_query
from backoffice.items.schemas import ItemQuery
from backoffice.pagination import SortOrder
from backoffice.settings import Settings
from backoffice.sql import page_statement, total_of

ROWS = 1_000_000
PAGE = 20
RUNS = 15

FILL = """
INSERT INTO items (name, description, category, price, tax, owner_id, created_at, updated_at)
SELECT
    'Item ' || g || ' ' || substr(md5(g::text), 1, 8),
    (ARRAY['red', 'blue', 'green', 'oak', 'steel', 'cotton', 'vintage', 'compact',
           'deluxe', 'wireless'])[1 + g % 10]
      || ' ' ||
    (ARRAY['lamp', 'chair', 'table', 'mug', 'poster', 'desk', 'shelf', 'rug', 'clock',
           'vase', 'kettle', 'sofa'])[1 + (g / 10) % 12]
      || ' ' || md5((g * 7)::text),
    'category-' || lpad((g % 50)::text, 2, '0'),
    round((random() * 1000)::numeric, 2),
    round((random() * 50)::numeric, 2),
    :owner_id,
    now() - g * interval '1 second',
    now() - g * interval '1 second'
FROM generate_series(1, :rows) AS g
"""

# Each scenario: the query parameters of `GET /items`.
SCENARIOS: dict[str, ItemQuery] = {
    "q search, rare term: q='c0ffe', newest first": ItemQuery(q="c0ffe"),
    "q search, common term: q='Vintage Lamp' (1 row in 120), newest first": ItemQuery(
        q="Vintage Lamp"
    ),
    "category + price range, sorted by price": ItemQuery(
        category="category-07",
        min_price=Decimal("100.00"),
        max_price=Decimal("200.00"),
        sort="price",
        order=SortOrder.ASC,
    ),
}


def compiled(query: Select[Any]) -> str:
    """The SQL text with its values inlined, as asyncpg's dialect writes it."""
    return str(query.compile(dialect=asyncpg.dialect(), compile_kwargs={"literal_binds": True}))


async def fill(conn: AsyncConnection, rows: int) -> None:
    owner_id = await conn.scalar(
        text(
            "INSERT INTO users (email, hashed_password, full_name) "
            "VALUES ('bench@example.com', 'x', 'Bench') "
            "ON CONFLICT (email) DO UPDATE SET full_name = EXCLUDED.full_name RETURNING id"
        )
    )
    await conn.execute(text("TRUNCATE items RESTART IDENTITY"))
    indexes = (
        await conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'items' AND indexname <> 'pk_items'"
            )
        )
    ).all()
    for index in indexes:
        await conn.execute(text(f'DROP INDEX "{index.indexname}"'))
    started = time.perf_counter()
    await conn.execute(text(FILL), {"owner_id": owner_id, "rows": rows})
    print(f"inserted {rows:,} rows in {time.perf_counter() - started:.1f} s")
    await conn.execute(text("SET maintenance_work_mem = '512MB'"))
    for index in indexes:
        started = time.perf_counter()
        await conn.execute(text(index.indexdef))
        print(f"built {index.indexname} in {time.perf_counter() - started:.1f} s")
    await conn.commit()
    await conn.execute(text("VACUUM ANALYZE items"))


async def explain(conn: AsyncConnection, sql: str) -> str:
    rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return "\n".join(row[0] for row in rows)


async def timed(conn: AsyncConnection, sql: str) -> float:
    """Median wall time in ms over RUNS executions (after the EXPLAIN warmed the cache)."""
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await conn.exec_driver_sql(sql)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def run(url: str, rows: int) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        print(await conn.scalar(text("SELECT version()")))
        await fill(conn, rows)
        size = await conn.scalar(text("SELECT pg_size_pretty(pg_total_relation_size('items'))"))
        print(f"items: {rows:,} rows, {size} with indexes\n")
        for title, params in SCENARIOS.items():
            query, values = search_query(params, owner_id=None)
            page_sql = compiled(page_statement(query).params(values, skip=0, limit=PAGE))
            count_sql = compiled(select(total_of(query)).params(values))
            print(f"## {title}\n\n```sql\n{page_sql}\n```\n")
            labels = ("page with its total (LIMIT 20)", "total alone (an empty page past the end)")
            for label, sql in zip(labels, (page_sql, count_sql), strict=True):
                plan = await explain(conn, sql)
                median = await timed(conn, sql)
                print(f"### {label}: median {median:.2f} ms over {RUNS} runs\n")
                print(f"```\n{plan}\n```\n")
    await engine.dispose()


def migrate_and_run(url: str, rows: int) -> None:
    """Alembic's env.py runs its own event loop, so it goes first, outside ours."""
    alembic = alembic_config(url)
    alembic.attributes["configure_logger"] = False
    command.upgrade(alembic, "head")
    asyncio.run(run(url, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a throw-away embedded PostgreSQL")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    if args.database_url:
        migrate_and_run(Settings(database_url=args.database_url).async_database_url, args.rows)
        return
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        url, server = embedded_db.start(Path(tmp) / "data", throwaway=True)
        try:
            migrate_and_run(url, args.rows)
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
