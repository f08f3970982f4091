"""Agents' merges in `intake.merges`: one row per duplicate, checked one at a time under an advisory lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox, row_progress
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.merging import Merge
from civicloop_intake.service_layer.ports import MergeLedger, Merges

# The table is the outbox of `RequestMerged` (`civicloop_events.outbox`): the ledger inserts, the outbox publishes.
MERGES_OUTBOX = OutboxTable(schema="intake", table="merges", key="duplicate")

_COLUMNS = "duplicate, original, requested_original, event_id, event::text as event_json, state, partition, kafka_offset"
# Transaction-scoped: released at commit or rollback, so a crashed check never holds it.
_SERIALISE = "select pg_advisory_xact_lock(hashtext('intake.merges'))"


def _merge(row: dict[str, Any]) -> Merge:
    return Merge(
        duplicate=row["duplicate"],
        original=row["original"],
        requested_original=row["requested_original"],
        event_id=row["event_id"],
        event_json=row["event_json"],
        **row_progress(row),
    )


async def _get(
    conn: psycopg.AsyncConnection[Any], duplicate: str, *, for_update: bool = False
) -> Merge | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"select {_COLUMNS} from intake.merges where duplicate = %s" + (" for update" if for_update else ""),
        (duplicate,),
    )
    row = await cur.fetchone()
    return _merge(row) if row else None


class _Ledger(MergeLedger):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get(self, duplicate: str) -> Merge | None:
        return await _get(self._conn, duplicate)

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
