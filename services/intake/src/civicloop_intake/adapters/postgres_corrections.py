"""Agents' location corrections in `intake.location_corrections`: the Idempotency-Key is the primary key.

The table is the outbox of `LocationCorrected` (see `kept_commands`).
"""

from __future__ import annotations

from civicloop_events.outbox_postgres import OutboxTable
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.kept_commands import PostgresKeptCommands
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.service_layer.ports import Corrections

CORRECTIONS_OUTBOX = OutboxTable(schema="intake", table="location_corrections", key="idempotency_key")


class PostgresCorrections(PostgresKeptCommands[Correction], Corrections):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, CORRECTIONS_OUTBOX, Correction)
