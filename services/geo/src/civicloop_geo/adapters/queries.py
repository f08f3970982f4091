"""Read-only spatial queries served over HTTP to the other services (and the public heat-map)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from civicloop_geo.adapters.request_places import POINT

_COLUMNS = """request_id, service_code, status, submitted_at, ST_Y(geog::geometry) as lat, ST_X(geog::geometry) as long,
              area_ids, merged_into"""


@dataclass(frozen=True)
class RequestFilter:
    """What every request listing narrows by: one category, open and unmerged only, how many at most."""

    service_code: str | None = None
    open_only: bool = False
    limit: int = 100


async def _rows(conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def _requests(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    narrow: RequestFilter,
    *,
    where: str,
    params: dict[str, Any],
    order: str = "submitted_at desc",
    columns: str = _COLUMNS,
) -> list[dict[str, Any]]:
    """The jurisdiction's requests that meet `where` and the filter, in `order` (then by request id)."""
    if narrow.service_code:
        where += " and service_code = %(service_code)s"
    if narrow.open_only:
        where += " and status <> 'closed' and merged_into is null"
    return await _rows(
        conn,
        f"""
        select {columns} from geo.requests
         where jurisdiction_id = %(j)s and {where}
         order by {order}, request_id limit %(limit)s""",
        {"j": jurisdiction_id, "service_code": narrow.service_code, "limit": narrow.limit, **params},
    )


async def within_radius(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    lat: float,
    long: float,
    radius_m: float,
    narrow: RequestFilter,
) -> list[dict[str, Any]]:
    return await _requests(
        conn,
        jurisdiction_id,
        narrow,
        columns=f"{_COLUMNS}, ST_Distance(geog, {POINT}) as distance_m",
        where=f"ST_DWithin(geog, {POINT}, %(radius)s)",
        params={"lat": lat, "long": long, "radius": radius_m},
        order="distance_m",
    )


async def in_area(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, area_id: str, narrow: RequestFilter
) -> list[dict[str, Any]]:
    """Requests placed in the area (by the area version they were placed in, which the log recorded)."""
    return await _requests(
        conn, jurisdiction_id, narrow, where="area_ids @> array[%(area)s]", params={"area": area_id}
    )


async def in_bbox(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    bbox: tuple[float, float, float, float],
    narrow: RequestFilter,
) -> list[dict[str, Any]]:
    west, south, east, north = bbox
    return await _requests(
        conn,
        jurisdiction_id,
        narrow,
        where="""geog && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)::geography
           and ST_Intersects(geog::geometry, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326))""",
        params={"w": west, "s": south, "e": east, "n": north},
    )


async def area_statistics(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, kind: str | None
) -> list[dict[str, Any]]:
    """Per current area: open, closed and merged requests, and the three commonest open categories."""
    return await _rows(
        conn,
        """
        with per_area as (
          select a, r.service_code, r.status, r.merged_into
            from geo.requests r, unnest(r.area_ids) as a
           where r.jurisdiction_id = %(j)s
        ), top as (
          select a, array_agg(service_code order by n desc, service_code) as codes from (
            select a, service_code, count(*) as n from per_area
             where status <> 'closed' and merged_into is null group by a, service_code) t
          group by a
        )
        select s.area_id, s.name, s.kind, s.version,
               count(p.a) filter (where p.status <> 'closed' and p.merged_into is null) as open,
               count(p.a) filter (where p.status = 'closed' and p.merged_into is null) as closed,
               count(p.a) filter (where p.merged_into is not null) as merged,
               coalesce((select codes[1:3] from top where top.a = s.area_id), '{}') as top_open_categories
          from geo.current_service_areas s
          left join per_area p on p.a = s.area_id
         where s.jurisdiction_id = %(j)s and (%(kind)s::text is null or s.kind = %(kind)s)
         group by s.area_id, s.name, s.kind, s.version
         order by s.kind, s.area_id""",
        {"j": jurisdiction_id, "kind": kind},
    )


async def heat_cells(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    *,
    since: datetime | None,
    service_code: str | None,
) -> list[tuple[str, int]]:
    """Request counts per stored H3 cell (public-safe: cells, never points)."""
    cur = await conn.execute(
        """select h3_cell, count(*) from geo.requests
            where jurisdiction_id = %(j)s and (%(since)s::timestamptz is null or submitted_at >= %(since)s)
              and (%(code)s::text is null or service_code = %(code)s) and merged_into is null
            group by h3_cell""",
        {"j": jurisdiction_id, "since": since, "code": service_code},
    )
    return [(cell, n) for cell, n in await cur.fetchall()]


async def recent_clusters(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, since: datetime
) -> list[dict[str, Any]]:
    return await _rows(
        conn,
        """
        select cluster_id, service_code, request_ids, detected_at,
               ST_Y(centroid::geometry) as lat, ST_X(centroid::geometry) as long
          from geo.clusters where jurisdiction_id = %(j)s and detected_at >= %(since)s
         order by detected_at desc""",
        {"j": jurisdiction_id, "since": since},
    )
