"""geo's view of requests in PostGIS: what duplicates, clusters and the queries read."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from civicloop_geo.domain.duplicates import NearbyRequest, NearbySearch
from civicloop_geo.service_layer.ports import RequestPlace, RequestPlaces

POINT = "ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)::geography"


class PostgresRequestPlaces(RequestPlaces):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def record(self, place: RequestPlace) -> bool:
        cur = await self.conn.execute(
            f"""insert into geo.requests (request_id, jurisdiction_id, service_code, submitted_at, geog, area_ids,
                                          h3_cell)
                values (%(request_id)s, %(jurisdiction_id)s, %(service_code)s, %(submitted_at)s, {POINT},
                        %(area_ids)s, %(h3_cell)s)
                on conflict (request_id) do nothing""",
            {
                "request_id": place.request_id,
                "jurisdiction_id": place.jurisdiction_id,
                "service_code": place.service_code,
                "submitted_at": place.submitted_at,
                "lat": place.lat,
                "long": place.long,
                "area_ids": list(place.area_ids),
                "h3_cell": place.h3_cell,
            },
        )
        return cur.rowcount == 1

    async def decide_once(
        self, request_id: str, outcome: str, cause: UUID, *, service_code: str, submitted_at: datetime
    ) -> bool:
        cur = await self.conn.execute(
            """insert into geo.decisions (request_id, outcome, cause_event_id, service_code, submitted_at)
               values (%s, %s, %s, %s, %s) on conflict (request_id) do nothing""",
            (request_id, outcome, cause, service_code, submitted_at),
        )
        return cur.rowcount == 1

    async def submission(self, request_id: str) -> tuple[str, datetime] | None:
        cur = await self.conn.execute(
            "select service_code, submitted_at from geo.decisions where request_id = %s and service_code is not null",
            (request_id,),
        )
        row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    async def move(
        self, request_id: str, lat: float, long: float, area_ids: tuple[str, ...], h3_cell: str
    ) -> bool:
        cur = await self.conn.execute(
            f"""update geo.requests set geog = {POINT}, area_ids = %(area_ids)s, h3_cell = %(h3_cell)s
                 where request_id = %(request_id)s""",
            {
                "lat": lat,
                "long": long,
                "area_ids": list(area_ids),
                "h3_cell": h3_cell,
                "request_id": request_id,
            },
        )
        return cur.rowcount == 1

    async def set_status(self, request_id: str, status: str) -> None:
        await self.conn.execute(
            "update geo.requests set status = %s where request_id = %s", (status, request_id)
        )

    async def mark_merged(self, request_id: str, original_request_id: str) -> None:
        await self.conn.execute(
            "update geo.requests set merged_into = %s where request_id = %s",
            (original_request_id, request_id),
        )

    async def nearby_open(self, search: NearbySearch) -> list[NearbyRequest]:
        """The duplicate candidates (`DUPLICATE_QUERY`, which the benchmark times): ST_DWithin on geography uses
        the GIST index."""
        cur = await self.conn.execute(DUPLICATE_QUERY, duplicate_query_params(search))
        return [
            NearbyRequest(request_id=r[0], service_code=r[1], distance_m=r[2], submitted_at=r[3])
            for r in await cur.fetchall()
        ]

    async def related_codes(self, jurisdiction_id: str, service_code: str) -> list[str]:
        cur = await self.conn.execute(
            """select s.service_code from geo.services s
                 join geo.services me on me.jurisdiction_id = s.jurisdiction_id and me.service_code = %s
                where s.jurisdiction_id = %s and me.service_group <> '' and s.service_group = me.service_group""",
            (service_code, jurisdiction_id),
        )
        codes = {row[0] for row in await cur.fetchall()}
        return sorted(codes | {service_code})

    async def define_service(self, jurisdiction_id: str, service_code: str, group: str) -> None:
        await self.conn.execute(
            """insert into geo.services (jurisdiction_id, service_code, service_group) values (%s, %s, %s)
               on conflict (jurisdiction_id, service_code) do update set service_group = excluded.service_group""",
            (jurisdiction_id, service_code, group),
        )


DUPLICATE_QUERY = f"""
    select request_id, service_code, ST_Distance(geog, {POINT}) as distance_m, submitted_at
      from geo.requests
     where jurisdiction_id = %(jurisdiction_id)s
       and service_code = any(%(service_codes)s)
       and status <> 'closed' and merged_into is null
       and submitted_at between %(since)s and %(until)s
       and ST_DWithin(geog, {POINT}, %(radius_m)s)
     order by distance_m, request_id
     limit %(limit)s"""


def duplicate_query_params(search: NearbySearch) -> dict[str, Any]:
    """`DUPLICATE_QUERY`'s parameters for a search (`any(...)` takes a list)."""
    return {**asdict(search), "service_codes": list(search.service_codes)}
