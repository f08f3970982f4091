"""Agents' merges in `intake.merges`: one row per duplicate, checked one at a time under an advisory lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox, read_record
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.merging import Merge
from civicloop_intake.service_layer.ports import MergeLedger, Merges

# The table is the outbox of `RequestMerged` (`civicloop_events.outbox`): the ledger inserts, the outbox publishes.
MERGES_OUTBOX = OutboxTable(schema="intake", table="merges", key="duplicate")

_COLUMNS = "duplicate, original, requested_original, event_id, event::text as event_json"
# Transaction-scoped: released at commit or rollback, so a crashed check never holds it.
_SERIALISE = "select pg_advisory_xact_lock(hashtext('intake.merges'))"


class _Ledger(MergeLedger):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get(self, duplicate: str) -> Merge | None:
        return await read_record(self._conn, MERGES_OUTBOX, Merge, _COLUMNS, duplicate)

    async def add(self, merge: Merge) -> None:
        await self._conn.execute(
            "insert into intake.merges (duplicate, original, requested_original, event_id, event, state)"
            " values (%s, %s, %s, %s, %s::json, 'pending')",
            (merge.duplicate, merge.original, merge.requested_original, merge.event_id, merge.event_json),
        )


class PostgresMerges(PostgresOutbox, Merges):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, MERGES_OUTBOX)

    @asynccontextmanager
    async def serialised(self) -> AsyncIterator[MergeLedger]:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_SERIALISE)
            yield _Ledger(conn)
