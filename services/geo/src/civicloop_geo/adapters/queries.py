"""Read-only spatial queries served over HTTP to the other services (and the public heat-map)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

_COLUMNS = """request_id, service_code, status, submitted_at, ST_Y(geog::geometry) as lat, ST_X(geog::geometry) as long,
              area_ids, merged_into"""
_POINT = "ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)::geography"


def _filters(service_code: str | None, open_only: bool) -> str:
    sql = ""
    if service_code:
        sql += " and service_code = %(service_code)s"
    if open_only:
        sql += " and status <> 'closed' and merged_into is null"
    return sql


async def _rows(conn: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def within_radius(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    lat: float,
    long: float,
    radius_m: float,
    *,
    service_code: str | None,
    open_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    return await _rows(
        conn,
        f"""
        select {_COLUMNS}, ST_Distance(geog, {_POINT}) as distance_m from geo.requests
         where jurisdiction_id = %(j)s and ST_DWithin(geog, {_POINT}, %(radius)s){_filters(service_code, open_only)}
         order by distance_m, request_id limit %(limit)s""",
        {
            "j": jurisdiction_id,
            "lat": lat,
            "long": long,
            "radius": radius_m,
            "service_code": service_code,
            "limit": limit,
        },
    )


async def in_area(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    area_id: str,
    *,
    service_code: str | None,
    open_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """Requests placed in the area (by the area version they were placed in, which the log recorded)."""
    return await _rows(
        conn,
        f"""
        select {_COLUMNS} from geo.requests
         where jurisdiction_id = %(j)s and area_ids @> array[%(area)s]{_filters(service_code, open_only)}
         order by submitted_at desc, request_id limit %(limit)s""",
        {"j": jurisdiction_id, "area": area_id, "service_code": service_code, "limit": limit},
    )


async def in_bbox(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    bbox: tuple[float, float, float, float],
    *,
    service_code: str | None,
    open_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    west, south, east, north = bbox
    return await _rows(
        conn,
        f"""
        select {_COLUMNS} from geo.requests
         where jurisdiction_id = %(j)s
           and geog && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)::geography
           and ST_Intersects(geog::geometry, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)){_filters(service_code, open_only)}
         order by submitted_at desc, request_id limit %(limit)s""",
        {
            "j": jurisdiction_id,
            "w": west,
            "s": south,
            "e": east,
            "n": north,
            "service_code": service_code,
            "limit": limit,
        },
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
