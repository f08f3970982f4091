"""Agents' location corrections in `intake.location_corrections`: the Idempotency-Key is the primary key.

The table is the outbox of `LocationCorrected` (see `postgres_submissions`).
"""

from __future__ import annotations

from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox, read_record
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.postgres_submissions import KEPT_COMMAND_COLUMNS
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.service_layer.ports import Corrections

CORRECTIONS_OUTBOX = OutboxTable(schema="intake", table="location_corrections", key="idempotency_key")


class PostgresCorrections(PostgresOutbox, Corrections):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, CORRECTIONS_OUTBOX)

    async def get(self, idempotency_key: str) -> Correction | None:
        async with self.pool.connection() as conn:
            return await read_record(
                conn, CORRECTIONS_OUTBOX, Correction, KEPT_COMMAND_COLUMNS, idempotency_key
            )

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
