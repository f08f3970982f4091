"""geo's view of requests as a batch of request events reads and writes it: a fixed number of statements a batch."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from civicloop_geo.domain.batch_placing import Decision, DuplicateCheck, PlacedRow, Submission
from civicloop_geo.domain.duplicates import NearbyRequest
from civicloop_geo.service_layer.ports import PlacingBatchStore

# Every duplicate search of a batch in one query. Each check reads the stored rows outside the batch's requests
# (the same filters, order and limit as `request_places.DUPLICATE_QUERY`, so the GIST index serves it), and the
# batch's own rows as the check carries them (joined on the check, not scanned per check); the nearest `limit` of
# the two together are what one search finds.
NEARBY_MANY_QUERY = """
with k as (
  select k.ord, k.j, k.since, k.until, array(select jsonb_array_elements_text(k.codes)) as codes,
         ST_SetSRID(ST_MakePoint(k.long, k.lat), 4326)::geography as pt
    from unnest(%(ord)s::int[], %(j)s::text[], %(lat)s::float8[], %(long)s::float8[],
                %(since)s::timestamptz[], %(until)s::timestamptz[], %(codes)s::jsonb[])
         as k(ord, j, lat, long, since, until, codes)
), stored as (
  select k.ord, s.*
    from k cross join lateral (
      select r.request_id, r.service_code, ST_Distance(r.geog, k.pt) as distance_m, r.submitted_at
        from geo.requests r
       where r.jurisdiction_id = k.j
         and r.service_code = any(k.codes)
         and r.status <> 'closed' and r.merged_into is null
         and r.submitted_at between k.since and k.until
         and ST_DWithin(r.geog, k.pt, %(radius_m)s)
         and r.request_id <> all(%(batch_requests)s)
       order by distance_m, r.request_id
       limit %(limit)s) s
), mine as (
  select m.ord, m.request_id, m.service_code, ST_Distance(m.geog, k.pt) as distance_m, m.submitted_at
    from (select *, ST_SetSRID(ST_MakePoint(long, lat), 4326)::geography as geog
            from unnest(%(m_ord)s::int[], %(m_id)s::text[], %(m_code)s::text[], %(m_at)s::timestamptz[],
                        %(m_lat)s::float8[], %(m_long)s::float8[])
                 as m(ord, request_id, service_code, submitted_at, lat, long)) m
    join k on k.ord = m.ord
   where ST_DWithin(m.geog, k.pt, %(radius_m)s)
), ranked as (
  select *, row_number() over (partition by ord order by distance_m, request_id) as rank
    from (select * from stored union all select * from mine) found
)
select ord, request_id, service_code, distance_m, submitted_at
  from ranked
 where rank <= %(limit)s
 order by ord, distance_m, request_id"""

SAVE_ROWS = """
insert into geo.requests (request_id, jurisdiction_id, service_code, status, submitted_at, geog, area_ids, h3_cell,
                          merged_into)
select r.request_id, r.jurisdiction_id, r.service_code, r.status, r.submitted_at,
       ST_SetSRID(ST_MakePoint(r.long, r.lat), 4326)::geography, r.area_ids, r.h3_cell, r.merged_into
  from jsonb_to_recordset(%s::jsonb) as r(request_id text, jurisdiction_id text, service_code text, status text,
                                          submitted_at timestamptz, lat float8, long float8, area_ids text[],
                                          h3_cell text, merged_into text)
on conflict (request_id) do update
   set status = excluded.status, geog = excluded.geog, area_ids = excluded.area_ids, h3_cell = excluded.h3_cell,
       merged_into = excluded.merged_into"""


class PostgresPlacingBatch(PlacingBatchStore):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def rows_of(self, request_ids: Collection[str]) -> dict[str, PlacedRow]:
        cur = await self.conn.execute(
            """select request_id, jurisdiction_id, service_code, submitted_at, ST_Y(geog::geometry),
                      ST_X(geog::geometry), area_ids, h3_cell, status, merged_into
                 from geo.requests where request_id = any(%s)""",
            (list(request_ids),),
        )
        return {
            r[0]: PlacedRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6]), r[7], r[8], r[9])
            for r in await cur.fetchall()
        }

    async def decisions_of(self, request_ids: Collection[str]) -> dict[str, Submission | None]:
        cur = await self.conn.execute(
            "select request_id, service_code, submitted_at from geo.decisions where request_id = any(%s)",
            (list(request_ids),),
        )
        return {
            rid: Submission(code, at) if code is not None else None for rid, code, at in await cur.fetchall()
        }

    async def decide(self, decisions: Sequence[Decision]) -> set[str]:
        cur = await self.conn.execute(
            """insert into geo.decisions (request_id, outcome, cause_event_id, service_code, submitted_at)
               select * from unnest(%s::text[], %s::text[], %s::uuid[], %s::text[], %s::timestamptz[])
               on conflict (request_id) do nothing
               returning request_id""",
            (
                [d.request_id for d in decisions],
                [d.outcome for d in decisions],
                [d.cause_event_id for d in decisions],
                [d.service_code for d in decisions],
                [d.submitted_at for d in decisions],
            ),
        )
        return {row[0] for row in await cur.fetchall()}

    async def service_groups(self, jurisdiction_ids: Collection[str]) -> dict[tuple[str, str], str]:
        cur = await self.conn.execute(
            "select jurisdiction_id, service_code, service_group from geo.services where jurisdiction_id = any(%s)",
            (list(jurisdiction_ids),),
        )
        return {(j, code): group for j, code, group in await cur.fetchall()}

    async def nearby_open_many(
        self, checks: Sequence[DuplicateCheck], *, batch_requests: Collection[str]
    ) -> list[list[NearbyRequest]]:
        if not checks:
            return []
        first = checks[0].search
        if any((c.search.radius_m, c.search.limit) != (first.radius_m, first.limit) for c in checks):
            raise ValueError("one batch's duplicate checks share one radius and one limit")
        mine = [(i, row) for i, c in enumerate(checks) for row in c.batch_rows]
        cur = await self.conn.execute(
            NEARBY_MANY_QUERY,
            {
                "ord": list(range(len(checks))),
                "j": [c.search.jurisdiction_id for c in checks],
                "lat": [c.search.lat for c in checks],
                "long": [c.search.long for c in checks],
                "since": [c.search.since for c in checks],
                "until": [c.search.until for c in checks],
                "codes": [Jsonb(list(c.search.service_codes)) for c in checks],
                "m_ord": [i for i, _ in mine],
                "m_id": [r.request_id for _, r in mine],
                "m_code": [r.service_code for _, r in mine],
                "m_at": [r.submitted_at for _, r in mine],
                "m_lat": [r.lat for _, r in mine],
                "m_long": [r.long for _, r in mine],
                "radius_m": first.radius_m,
                "limit": first.limit,
                "batch_requests": list(batch_requests),
            },
        )
        found: list[list[NearbyRequest]] = [[] for _ in checks]
        for ord_, rid, code, distance, at in await cur.fetchall():
            found[ord_].append(
                NearbyRequest(request_id=rid, service_code=code, distance_m=distance, submitted_at=at)
            )
        return found

    async def save(self, rows: Sequence[PlacedRow]) -> None:
        await self.conn.execute(SAVE_ROWS, (Jsonb([_as_json(r) for r in rows]),))


def _as_json(row: PlacedRow) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "jurisdiction_id": row.jurisdiction_id,
        "service_code": row.service_code,
        "status": row.status,
        "submitted_at": row.submitted_at.isoformat(),
        "lat": row.lat,
        "long": row.long,
        "area_ids": list(row.area_ids),
        "h3_cell": row.h3_cell,
        "merged_into": row.merged_into,
    }
