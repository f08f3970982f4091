"""The rebuild's writes of geo's view of requests: a few statements a batch, nothing published."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from civicloop_events import Event
from psycopg.types.json import Jsonb

from civicloop_geo.adapters.placing_batch import PostgresPlacingBatch
from civicloop_geo.domain.replay import (
    Pending,
    ReplayWrites,
    StoredState,
    replay_batch,
    requests_needing_state,
)

UPDATE_ROWS = """
update geo.requests r
   set status = coalesce(u.status, r.status),
       merged_into = coalesce(u.merged_into, r.merged_into),
       geog = case when u.lat is null then r.geog
                   else ST_SetSRID(ST_MakePoint(u.long, u.lat), 4326)::geography end,
       area_ids = coalesce(u.area_ids, r.area_ids),
       h3_cell = coalesce(u.h3_cell, r.h3_cell)
  from jsonb_to_recordset(%s::jsonb) as u(request_id text, status text, merged_into text, lat float8, long float8,
                                          area_ids text[], h3_cell text)
 where r.request_id = u.request_id"""


async def stored_rows(conn: psycopg.AsyncConnection[Any], request_ids: Collection[str]) -> frozenset[str]:
    cur = await conn.execute(
        "select request_id from geo.requests where request_id = any(%s)", (list(request_ids),)
    )
    return frozenset(row[0] for row in await cur.fetchall())


async def write(conn: psycopg.AsyncConnection[Any], writes: ReplayWrites) -> None:
    store = PostgresPlacingBatch(conn)
    if writes.decisions:
        await store.decide(writes.decisions)
    if writes.new_rows:
        await store.save(list(writes.new_rows.values()))
    changed = writes.moved.keys() | writes.statuses.keys() | writes.merged.keys()
    if changed:
        updates = []
        for rid in sorted(changed):
            lat, long, area_ids, h3_cell = writes.moved.get(rid, (None, None, None, None))
            updates.append(
                {
                    "request_id": rid,
                    "status": writes.statuses.get(rid),
                    "merged_into": writes.merged.get(rid),
                    "lat": lat,
                    "long": long,
                    "area_ids": list(area_ids) if area_ids is not None else None,
                    "h3_cell": h3_cell,
                }
            )
        await conn.execute(UPDATE_ROWS, (Jsonb(updates),))


async def pending_of(conn: psycopg.AsyncConnection[Any], request_ids: Collection[str]) -> dict[str, Pending]:
    cur = await conn.execute(
        """select request_id, event_id, jurisdiction_id, service_code, submitted_at, status, merged_into,
                  correction_id, corrected_status, corrected_merged_into
             from geo.replay_pending where request_id = any(%s)""",
        (list(request_ids),),
    )
    return {r[0]: Pending(*r[1:]) for r in await cur.fetchall()}


async def keep_pending(
    conn: psycopg.AsyncConnection[Any], before: Collection[str], pending: dict[str, Pending]
) -> None:
    """Store the batch's pending submissions as they end: gone ones deleted, the others written."""
    gone = [rid for rid in before if rid not in pending]
    if gone:
        await conn.execute("delete from geo.replay_pending where request_id = any(%s)", (gone,))
    if pending:
        rows = [
            {
                "request_id": rid,
                "event_id": str(p.event_id) if p.event_id is not None else None,
                "jurisdiction_id": p.jurisdiction_id,
                "service_code": p.service_code,
                "submitted_at": p.submitted_at.isoformat(),
                "status": p.status,
                "merged_into": p.merged_into,
                "correction_id": str(p.correction_id) if p.correction_id is not None else None,
                "corrected_status": p.corrected_status,
                "corrected_merged_into": p.corrected_merged_into,
            }
            for rid, p in pending.items()
        ]
        await conn.execute(
            """insert into geo.replay_pending
                      (request_id, event_id, jurisdiction_id, service_code, submitted_at, status, merged_into,
                       correction_id, corrected_status, corrected_merged_into)
               select * from jsonb_to_recordset(%s::jsonb) as p(request_id text, event_id uuid, jurisdiction_id text,
                      service_code text, submitted_at timestamptz, status text, merged_into text,
                      correction_id uuid, corrected_status text, corrected_merged_into text)
               on conflict (request_id) do update
                  set event_id = excluded.event_id, status = excluded.status, merged_into = excluded.merged_into,
                      correction_id = excluded.correction_id, corrected_status = excluded.corrected_status,
                      corrected_merged_into = excluded.corrected_merged_into""",
            (Jsonb(rows),),
        )


async def replay_requests(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
    """The request topic's fold for a rebuild (a batch handler): state read, folded, written, in the batch's
    transaction, pending submissions included, so a batch that rolls back leaves nothing behind."""
    request_ids = requests_needing_state(events)
    if not request_ids:
        return
    stored = StoredState(
        rows=await stored_rows(conn, request_ids),
        decisions=await PostgresPlacingBatch(conn).decisions_of(request_ids),
    )
    pending = await pending_of(conn, request_ids)
    before = set(pending)
    writes = replay_batch(events, stored, pending)
    await write(conn, writes)
    await keep_pending(conn, before, pending)
