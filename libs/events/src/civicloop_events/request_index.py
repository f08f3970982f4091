"""Where each request's events stand on the log: (partition, offset) per event, folded into PostgreSQL.

A request's history is a handful of records among millions; reading the whole topic to find them grows with the log.
The index turns that into one index lookup and a seek per stretch of records (`civicloop_events.history`).

The fold is a batch handler of an ordinary exactly-once consumer: the runner has already written each new event's
inbox row (its first copy's partition and offset) in the same transaction, so the handler copies those positions
with the events' request numbers. An event seen again (the same `event_id` further on) is not indexed twice: the
history reports an event once, where it first stands, as a full scan does.

The table holds one topic's positions (the one its consumer reads; no topic column, so the rows do not depend on the
deployment's topic prefix and an archive loaded elsewhere rebuilds them alike). A service that keeps the index
creates its table in a migration (`request_index_ddl`), runs a consumer of the request topic whose batch handler
calls `index_request_events`, and empties it in its rebuild. The reader needs only
the database and the schema: `IndexedPositions` says where the indexed requests' records are, and up to which offset
of each partition the index is complete (the consumer's stored position), so the rest is read from the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from civicloop_events.envelope import Event

TABLE = "request_log_index"


def request_index_ddl(schema: str) -> list[str]:
    """DDL of the index table, for a service's Alembic migration (after its inbox and position tables)."""
    return [
        f"""create table {schema}.{TABLE} (
              request_id text not null,
              partition integer not null,
              kafka_offset bigint not null,
              event_id uuid not null,
              primary key (request_id, partition, kafka_offset))""",
    ]


async def index_request_events(
    conn: psycopg.AsyncConnection[Any],
    *,
    schema: str,
    consumer: str,
    topic: str,
    events: Sequence[Event[Any]],
) -> None:
    """Index `events` (a batch the consumer `consumer` has just claimed in its inbox, in this transaction)."""
    keyed = [e for e in events if e.request_id]
    if not keyed:
        return
    await conn.execute(
        sql.SQL(
            "insert into {index} (request_id, partition, kafka_offset, event_id)"
            " select e.request_id, i.partition, i.kafka_offset, i.event_id"
            " from unnest(%s::uuid[], %s::text[]) as e(event_id, request_id)"
            " join {inbox} i on i.consumer = %s and i.event_id = e.event_id and i.topic = %s"
            " on conflict do nothing"
        ).format(index=sql.Identifier(schema, TABLE), inbox=sql.Identifier(schema, "inbox")),
        ([e.event_id for e in keyed], [e.request_id for e in keyed], consumer, topic),
    )


@dataclass(frozen=True)
class IndexedPositions:
    """A request's indexed records (partition -> offsets, ascending) and the index's reach: partition -> the first
    offset it has not folded yet (a partition missing there has not been folded at all)."""

    offsets: dict[int, list[int]]
    complete_below: dict[int, int]


async def indexed_positions(
    conn: psycopg.AsyncConnection[Any], *, schema: str, consumer: str, topic: str, request_id: str
) -> IndexedPositions:
    cur = await conn.execute(
        sql.SQL(
            "select partition, kafka_offset from {index} where request_id = %s order by partition, kafka_offset"
        ).format(index=sql.Identifier(schema, TABLE)),
        (request_id,),
    )
    offsets: dict[int, list[int]] = {}
    for partition, offset in await cur.fetchall():
        offsets.setdefault(partition, []).append(offset)
    cur = await conn.execute(
        sql.SQL("select partition, next_offset from {positions} where consumer = %s and topic = %s").format(
            positions=sql.Identifier(schema, "consumer_positions")
        ),
        (consumer, topic),
    )
    return IndexedPositions(offsets, dict(await cur.fetchall()))


async def reset_request_index(conn: psycopg.AsyncConnection[Any], *, schema: str) -> None:
    await conn.execute(sql.SQL("truncate {index}").format(index=sql.Identifier(schema, TABLE)))
