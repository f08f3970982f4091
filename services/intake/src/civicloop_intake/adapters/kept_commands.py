"""Intake's tables of commands kept under their Idempotency-Key with the event they publish (submissions,
location corrections): each is the outbox of its events, held, published and marked by
`civicloop_events.outbox_postgres`. The row is read back and stored the same way in every such table.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import psycopg
from civicloop_events.outbox_postgres import OutboxTable, PostgresOutbox, read_record
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.domain.submissions import KeptCommand

# The columns named as `KeptCommand`'s fields.
KEPT_COMMAND_COLUMNS = "idempotency_key, request_number, event_id, body_hash, event::text as event_json"

K = TypeVar("K", bound=KeptCommand)


class PostgresKeptCommands(PostgresOutbox, Generic[K]):
    def __init__(self, pool: AsyncConnectionPool, table: OutboxTable, record: type[K]) -> None:
        super().__init__(pool, table)
        self.record = record
        self._insert = sql.SQL(
            "insert into {t} (idempotency_key, request_number, event_id, body_hash, event, state)"
        ).format(t=sql.Identifier(table.schema, table.table))
        self._inserts: dict[str, bytes] = {}  # each form of the insert composed once

    async def get(self, idempotency_key: str) -> K | None:
        async with self.pool.connection() as conn:
            return await read_record(conn, self.table, self.record, KEPT_COMMAND_COLUMNS, idempotency_key)

    async def add(self, command: K) -> K | None:
        """Store a pending command. None when stored; the existing one when its key is taken."""
        async with self.pool.connection() as conn:
            stored = await self._insert_pending(
                conn,
                command,
                sql.SQL("values (%(key)s, %(number)s, %(event_id)s, %(hash)s, %(event)s::json, 'pending')"),
            )
        return None if stored else await self.get(command.idempotency_key)

    async def _insert_pending(
        self, conn: psycopg.AsyncConnection[Any], command: K, rows: sql.Composable
    ) -> bool:
        """Insert `command`, pending, unless its key is taken; `rows` is the `values` or `select` that gives the
        row (its parameters `key`, `number`, `event_id`, `hash` and `event`). True when it was inserted."""
        statement = self._inserts.get(rows.as_string(None))
        if statement is None:
            statement = self._inserts[rows.as_string(None)] = (
                sql.SQL("{insert} {rows} on conflict (idempotency_key) do nothing")
                .format(insert=self._insert, rows=rows)
                .as_bytes(None)
            )
        cur = await conn.execute(
            statement,
            {
                "key": command.idempotency_key,
                "number": command.request_number,
                "event_id": command.event_id,
                "hash": command.body_hash,
                "event": command.event_json,
            },
        )
        return cur.rowcount == 1
