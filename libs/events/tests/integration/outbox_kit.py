"""A scratch outbox table of a test's own, in the shape `civicloop_events.outbox_postgres` reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox
from psycopg_pool import AsyncConnectionPool


@asynccontextmanager
async def scratch_outbox(dsn: str, schema: str, *, max_size: int = 4) -> AsyncIterator[PostgresOutbox]:
    """A new table in `schema` and the outbox over it, on a pool of its own (closed after)."""
    pool = AsyncConnectionPool(dsn, min_size=1, max_size=max_size, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    name = f"rows_{uuid.uuid4().hex[:8]}"
    try:
        async with pool.connection() as conn:
            await conn.execute(f"create schema if not exists {schema}")
            await conn.execute(
                f"""create table {schema}.{name} (
                     key text primary key,
                     events text[] not null,
                     state text not null default 'pending' check (state in ('pending', 'published')),
                     partition integer,
                     kafka_offset bigint,
                     created_at timestamptz not null default now(),
                     published_at timestamptz)"""
            )
        yield PostgresOutbox(pool, OutboxTable(schema=schema, table=name, key="key", events="events"))
    finally:
        await pool.close()
