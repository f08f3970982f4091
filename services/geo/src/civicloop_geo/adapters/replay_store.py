"""The rebuild's writes of geo's view of requests: a few statements a batch, nothing published."""

from __future__ import annotations

import copy
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


class RequestReplay:
    """The request topic's fold for a rebuild; holds the submissions whose decision is not on the log yet."""

    def __init__(self) -> None:
        self.pending: dict[str, Pending] = {}

    async def __call__(self, conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        request_ids = requests_needing_state(events)
        if not request_ids:
            return
        stored = StoredState(
            rows=await stored_rows(conn, request_ids),
            decisions=await PostgresPlacingBatch(conn).decisions_of(request_ids),
        )
        # A batch that fails rolls back and runs again: what it held must roll back with it.
        before = {rid: copy.copy(self.pending.get(rid)) for rid in request_ids}
        try:
            await write(conn, replay_batch(events, stored, self.pending))
        except BaseException:
            for rid, held in before.items():
                if held is None:
                    self.pending.pop(rid, None)
                else:
                    self.pending[rid] = held
            raise
