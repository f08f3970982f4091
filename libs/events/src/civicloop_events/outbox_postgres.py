"""The outbox port over a service's own PostgreSQL table.

Each service keeps its table (its idempotency record and the pending events in one row, stored by the service's
own insert) and describes it with an `OutboxTable`; this adapter reads, holds and marks the rows. A row is held by
`select ... for update` in a transaction that lasts as long as its own publish (bounded by the event log's timeout)
and ends at once if the publish fails. A command's claim is two messages to the server, each several statements
bound on the client (simple query protocol): `begin; select ... for update`, then `update ...; commit`. Pipeline mode
would save the same round trips but costs more CPU (a send and a poll per statement). The sweeper's transaction also
takes a transaction-level advisory lock, so one replica sweeps a table at a time; it is released with the row, never
left behind on a pooled connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from typing import Any, TypedDict, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_events.outbox import Claim, Outbox, Stored
from civicloop_events.positions import LogPosition, PublishProgress, PublishState


@dataclass(frozen=True)
class OutboxTable:
    """How a service's table holds its outbox rows.

    `events` is an SQL expression over the row giving its encoded events as a text array, in publishing order.
    Tables with `positions` keep the last event's position in `partition` and `kafka_offset`; every table has
    `state` ('pending' | 'published'), `created_at` and `published_at`. `also_on_publish` runs in the same
    transaction as the mark, with the key as its one parameter (e.g. resolving a batch token).
    """

    schema: str
    table: str
    key: str
    events: str = "array[event::text]"
    positions: bool = True
    also_on_publish: str | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


def _columns(table: OutboxTable) -> sql.Composable:
    position = "partition, kafka_offset" if table.positions else "null as partition, null as kafka_offset"
    return sql.SQL(
        "{key}::text as key, {events} as events, state, created_at, now() - created_at as age, {position}"
    ).format(key=sql.Identifier(table.key), events=sql.SQL(table.events), position=sql.SQL(position))


def row_position(row: Mapping[str, Any]) -> LogPosition | None:
    """The log position of a row read with its `partition` and `kafka_offset` columns (None until published)."""
    return None if row["kafka_offset"] is None else LogPosition(row["partition"], row["kafka_offset"])


class RowProgress(TypedDict):
    """The keyword arguments of a `PublishProgress` record."""

    state: PublishState
    position: LogPosition | None


def row_progress(row: Mapping[str, Any]) -> RowProgress:
    """`state` and `position` of a row read with its `state`, `partition` and `kafka_offset` columns."""
    return {"state": PublishState(row["state"]), "position": row_position(row)}


_PROGRESS_COLUMNS = ("state", "partition", "kafka_offset")
R = TypeVar("R", bound=PublishProgress)


async def read_record(
    conn: psycopg.AsyncConnection[Any], table: OutboxTable, record: type[R], columns: str, key: str
) -> R | None:
    """The row under `key` as a `record`, the service's own view of it: `columns` (SQL) are named as the record's
    fields, and its `state` and log position are read beside them."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        sql.SQL("select {columns}, {progress} from {t} where {key} = %s").format(
            columns=sql.SQL(columns),
            progress=sql.SQL(", ").join(map(sql.Identifier, _PROGRESS_COLUMNS)),
            t=sql.Identifier(table.schema, table.table),
            key=sql.Identifier(table.key),
        ),
        (key,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    fields = {name: value for name, value in row.items() if name not in _PROGRESS_COLUMNS}
    return record(**fields, **row_progress(row))


def _stored(row: dict[str, Any]) -> Stored:
    return Stored(
        key=row["key"],
        events=tuple(row["events"]),
        published=row["state"] == PublishState.published,
        position=row_position(row),
        created_at=row["created_at"],
        age=row["age"],
    )


class _RowClaim(Claim):
    """A held row. `ends_transaction`: the mark commits the claim's transaction in the same message (a command's
    claim, which began it itself); otherwise the caller's transaction block commits it."""

    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        table: OutboxTable,
        entry: Stored,
        *,
        ends_transaction: bool = False,
    ) -> None:
        self._conn = conn
        self._table = table
        self.entry = entry
        self._ends_transaction = ends_transaction
        self.ended = False

    async def mark_published(self, position: LogPosition | None) -> Stored:
        t = self._table
        params: dict[str, Any] = {"key": self.entry.key}
        if t.positions:
            if position is None:
                raise ValueError(f"{t.name} keeps positions: a row there publishes at least one event")
            params |= {"partition": position.partition, "offset": position.offset}
        query = _mark_query(t)
        cur = psycopg.AsyncClientCursor(self._conn)
        statements = [cur.mogrify(query, params)]
        if t.also_on_publish:
            statements.append(cur.mogrify(t.also_on_publish, (self.entry.key,)))
        if self._ends_transaction:
            statements.append("commit")
        await cur.execute("; ".join(statements))
        self.ended = self._ends_transaction
        self.entry = replace(self.entry, published=True, position=position if t.positions else None)
        return self.entry


@cache
def _mark_query(t: OutboxTable) -> bytes:
    """The table's mark, composed once (it is the same for every row)."""
    where = sql.SQL("{key} = %(key)s").format(key=sql.Identifier(t.key))
    target = sql.Identifier(t.schema, t.table)
    if t.positions:
        query = sql.SQL(
            "update {t} set state = 'published', partition = %(partition)s, kafka_offset = %(offset)s,"
            " published_at = now() where {where}"
        )
    else:
        query = sql.SQL("update {t} set state = 'published', published_at = now() where {where}")
    return query.format(t=target, where=where).as_bytes(None)


async def _rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    """End the claim's transaction after a failure; a broken connection is the pool's to discard."""
    if conn.closed or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    # If the connection broke, the server ends the transaction and the pool replaces the connection.
    with suppress(psycopg.Error):
        await conn.execute("rollback")


class PostgresOutbox(Outbox):
    def __init__(self, pool: AsyncConnectionPool, table: OutboxTable) -> None:
        self.pool = pool
        self.table = table
        self.outbox_name = table.name
        self._select = sql.SQL("select {columns} from {t}").format(
            columns=_columns(table), t=sql.Identifier(table.schema, table.table)
        )
        # The key is sent untyped, so PostgreSQL reads it as the column's type and uses its index (a uuid too).
        self._by_key = sql.SQL("{key} = %s").format(key=sql.Identifier(table.key))
        # Composed once: it is the same for every claim.
        self._begin_and_hold = (
            sql.SQL("begin; {} where {} for update").format(self._select, self._by_key).as_bytes(None)
        )

    async def stored(self, key: str) -> Stored | None:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(sql.SQL("{} where {}").format(self._select, self._by_key), (key,))
            row = await cur.fetchone()
        return _stored(row) if row else None

    @asynccontextmanager
    async def claim(self, key: str) -> AsyncIterator[Claim]:
        async with self.pool.connection() as conn:
            claim = None
            try:
                cur = psycopg.AsyncClientCursor(conn, row_factory=dict_row)
                await cur.execute(self._begin_and_hold, (key,))
                cur.nextset()  # past the `begin`
                row = await cur.fetchone()
                if row is None:
                    raise LookupError(f"no row under {key!r} in {self.outbox_name}")
                claim = _RowClaim(conn, self.table, _stored(row), ends_transaction=True)
                yield claim
            except BaseException:
                await _rollback(conn)
                raise
            if claim is not None and not claim.ended:  # published meanwhile: nothing to mark, release the row
                await conn.execute("rollback")

    @asynccontextmanager
    async def claim_oldest_pending(
        self, older_than: timedelta, *, skip: frozenset[str] = frozenset()
    ) -> AsyncIterator[Claim | None]:
        async with self.pool.connection() as conn, conn.transaction():
            lock = await conn.execute(
                "select pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                ("civicloop.outbox:" + self.outbox_name,),
            )
            mine = await lock.fetchone()
            if mine is None or not mine[0]:
                yield None  # another replica is sweeping this table right now
                return
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                sql.SQL(
                    "{} where state = 'pending' and created_at <= now() - %s and {key}::text <> all(%s)"
                    " order by created_at limit 1 for update skip locked"
                ).format(self._select, key=sql.Identifier(self.table.key)),
                (older_than, list(skip)),
            )
            row = await cur.fetchone()
            yield None if row is None else _RowClaim(conn, self.table, _stored(row))

    async def oldest_pending_age(self) -> timedelta | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                sql.SQL("select now() - min(created_at) from {} where state = 'pending'").format(
                    sql.Identifier(self.table.schema, self.table.table)
                )
            )
            row = await cur.fetchone()
        return row[0] if row else None
