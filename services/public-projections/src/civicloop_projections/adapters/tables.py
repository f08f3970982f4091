"""Whole-table operations of this service's schema: reset for a rebuild, row counts, a stable dump to compare."""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_runtime.content_hash import ReadModelHash, read_model_hash

PROJECTION_TABLES = (
    "agent_requests",
    "agent_request_history",
    "services",
    "service_areas",
    "sla_definitions",
    "request_sla",
    "public_requests",
    "request_log_index",
)

# Every column, geometry as hex EWKB, in a total order: two rebuilds of the same log give identical dumps.
_DUMP_ORDER = {
    "agent_requests": "request_number",
    "agent_request_history": "event_id",
    "services": "jurisdiction_id, service_code",
    "service_areas": "jurisdiction_id, area_id, version",
    "sla_definitions": "jurisdiction_id",
    "request_sla": "request_number",
    "public_requests": "request_number",
    "request_log_index": "request_id, partition, kafka_offset",
}


async def reset(conn: psycopg.AsyncConnection[Any], consumers: list[str]) -> None:
    """Empty the projection tables and forget where `consumers` stood, so they replay from offset 0."""
    async with conn.transaction():
        await conn.execute("truncate " + ", ".join(f"projections.{t}" for t in PROJECTION_TABLES))
        await conn.execute("delete from projections.inbox where consumer = any(%s)", (consumers,))
        await conn.execute(
            "delete from projections.consumer_positions where consumer = any(%s)", (consumers,)
        )


async def row_counts(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    counts = {}
    for table in PROJECTION_TABLES:
        cur = await conn.execute(f"select count(*) from projections.{table}")
        (counts[table],) = await cur.fetchone()  # type: ignore[misc]
    return counts


async def content_hash(conn: psycopg.AsyncConnection[Any]) -> ReadModelHash:
    """The projections' content hash: every column of every table (none records when a row was written)."""
    return await read_model_hash(conn, "projections", PROJECTION_TABLES)


async def dump(conn: psycopg.AsyncConnection[Any]) -> dict[str, list[str]]:
    out = {}
    for table, order in _DUMP_ORDER.items():
        cur = await conn.execute(f"select to_jsonb(t)::text from projections.{table} t order by {order}")
        out[table] = [row[0] for row in await cur.fetchall()]
    return out
