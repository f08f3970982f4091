"""Agents' location corrections in `intake.location_corrections`: the Idempotency-Key is the primary key.

The table is the outbox of `LocationCorrected` (see `postgres_submissions`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox, row_progress
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.corrections import Correction
from civicloop_intake.service_layer.ports import Corrections

CORRECTIONS_OUTBOX = OutboxTable(schema="intake", table="location_corrections", key="idempotency_key")

_COLUMNS = "idempotency_key, request_number, event_id, body_hash, event::text as event_json, state, partition, kafka_offset"


def _correction(row: dict[str, Any]) -> Correction:
    return Correction(
        idempotency_key=row["idempotency_key"],
        request_number=row["request_number"],
        event_id=row["event_id"],
        body_hash=row["body_hash"],
        event_json=row["event_json"],
        **row_progress(row),
    )


async def _get(
    conn: psycopg.AsyncConnection[Any], idempotency_key: str, *, for_update: bool = False
) -> Correction | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_COLUMNS} from intake.location_corrections where idempotency_key = %s"
        + (" for update" if for_update else ""),
        (idempotency_key,),
    )
    row = await cur.fetchone()
    return _correction(row) if row else None


class PostgresCorrections(PostgresOutbox, Corrections):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, CORRECTIONS_OUTBOX)

    async def get(self, idempotency_key: str) -> Correction | None:
        async with self.pool.connection() as conn:
            return await _get(conn, idempotency_key)

    async def add(self, correction: Correction) -> Correction | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "insert into intake.location_corrections"
                " (idempotency_key, request_number, event_id, body_hash, event, state)"
                " values (%s, %s, %s, %s, %s::json, 'pending') on conflict (idempotency_key) do nothing",
                (
                    correction.idempotency_key,
                    correction.request_number,
                    correction.event_id,
                    correction.body_hash,
                    correction.event_json,
                ),
            )
        if cur.rowcount == 1:
            return None
        return await self.get(correction.idempotency_key)
