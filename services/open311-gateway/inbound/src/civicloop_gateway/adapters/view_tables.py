"""The Open311 view's tables as a whole: reset for a rebuild, row counts, a stable dump to compare two builds."""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_runtime.content_hash import ReadModelHash, read_model_hash

VIEW_TABLES = ("requests", "request_updates", "imported_requests", "services", "jurisdictions", "partners")

# Every column (geography as hex EWKB), in a total order: two builds of the same log give identical dumps.
_DUMP_ORDER = {
    "requests": "service_request_id",
    "request_updates": "update_id",
    "imported_requests": "service_request_id",
    "services": "jurisdiction_id, service_code",
    "jurisdictions": "jurisdiction_id",
    "partners": "jurisdiction_id, client_id, key_id",
}


async def reset(conn: psycopg.AsyncConnection[Any], consumers: list[str]) -> None:
    """Empty the view's tables and forget where `consumers` stood, so they replay from offset 0."""
    async with conn.transaction():
        await conn.execute("truncate " + ", ".join(f"gateway.{t}" for t in VIEW_TABLES))
        await conn.execute("delete from gateway.inbox where consumer = any(%s)", (consumers,))
        await conn.execute("delete from gateway.consumer_positions where consumer = any(%s)", (consumers,))


async def row_counts(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    counts = {}
    for table in VIEW_TABLES:
        cur = await conn.execute(f"select count(*) from gateway.{table}")
        row = await cur.fetchone()
        counts[table] = row[0] if row else 0
    return counts


async def content_hash(conn: psycopg.AsyncConnection[Any]) -> ReadModelHash:
    """The view's content hash: every column of every table (none records when a row was written)."""
    return await read_model_hash(conn, "gateway", VIEW_TABLES)


async def dump(conn: psycopg.AsyncConnection[Any]) -> dict[str, list[str]]:
    out = {}
    for table, order in _DUMP_ORDER.items():
        cur = await conn.execute(f"select to_jsonb(t)::text from gateway.{table} t order by {order}")
        out[table] = [row[0] for row in await cur.fetchall()]
    return out
