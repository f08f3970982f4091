"""Service areas in PostGIS: `ServiceAreaDefined` folded into versions, and points resolved to current areas.

Versions. Every `ServiceAreaDefined` event is the next version of its area (max + 1), even when it repeats the
current geometry and name: the log is the record, and an event that names an area names the version it used.
Replaying an event (same event id) changes nothing and returns the version it got the first time. Older versions
stay; resolution reads only the latest version of each area.

Inside or outside the jurisdiction. A point is inside when a current area of kind "boundary" covers it, if the
jurisdiction has any such area; otherwise when any current area covers it. Covers includes the edge, so a point on a
line shared by two areas resolves to both. With no areas at all, every point is outside.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from civicloop_events import Event, ServiceAreaDefined
from civicloop_events.payloads import AreaRef
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.service_layer.ports import (
    AreaDefinitions,
    AreaOutline,
    AreaOutlines,
    AreaResolver,
    PointAreas,
)

BOUNDARY_KIND = "boundary"
METRES_PER_DEGREE = 111_320.0  # of latitude, near enough everywhere
_POLYGONAL = {"Polygon", "MultiPolygon"}


class InvalidAreaGeometry(ValueError):
    """A `ServiceAreaDefined` whose geometry is not a (multi)polygon: the consumer retries, then dead-letters it."""


@dataclass(frozen=True)
class AreaSummary:
    area_id: str
    kind: str
    name: str
    version: int
    source: str
    defined_at: datetime
    area_km2: float
    vertices: int


class PostgresAreaStore:
    """Writes of geo.service_areas; runs on the caller's connection (the consumer's transaction, or its own)."""

    async def define(self, conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> int:
        """Add the event's area as the next version; returns the version (the same one again for a replay)."""
        p: ServiceAreaDefined = event.payload
        if p.geometry.get("type") not in _POLYGONAL:
            raise InvalidAreaGeometry(
                f"service area {p.area_id!r}: a {p.geometry.get('type')!r} geometry is not a (multi)polygon"
            )
        async with conn.transaction():  # a savepoint inside the caller's transaction, a transaction otherwise
            # Serialises definitions of one area, so two writers cannot both compute the same max + 1.
            await conn.execute(
                "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"geo.service_areas:{event.jurisdiction_id}:{p.area_id}",),
            )
            cur = await conn.execute(
                "select version from geo.service_areas where event_id = %s", (event.event_id,)
            )
            seen = await cur.fetchone()
            if seen is not None:
                return int(seen[0])
            # The CLI sends valid geometry; other publishers may not, and ST_Covers is undefined on invalid input,
            # so an invalid one is repaired here the way the CLI would (polygonal parts of ST_MakeValid).
            cur = await conn.execute(
                """with g as (select ST_SetSRID(ST_GeomFromGeoJSON(%(geometry)s), 4326) as geom)
                   insert into geo.service_areas
                     (jurisdiction_id, area_id, version, kind, name, geom, source, defined_at, event_id)
                   select %(j)s, %(area_id)s,
                          coalesce((select max(version) from geo.service_areas
                                     where jurisdiction_id = %(j)s and area_id = %(area_id)s), 0) + 1,
                          %(kind)s, %(name)s,
                          ST_Multi(case when ST_IsValid(g.geom) then g.geom
                                        else ST_CollectionExtract(ST_MakeValid(g.geom), 3) end),
                          %(source)s, %(defined_at)s, %(event_id)s
                     from g
                   returning version""",
                {
                    "geometry": json.dumps(p.geometry),
                    "j": event.jurisdiction_id,
                    "area_id": p.area_id,
                    "kind": p.kind,
                    "name": p.name,
                    "source": p.source,
                    "defined_at": event.occurred_at,
                    "event_id": event.event_id,
                },
            )
            row = await cur.fetchone()
            if row is None:
                raise RuntimeError("insert ... returning gave no row")
            return int(row[0])


# Current versions covering each point, and whether its jurisdiction has a current boundary. ST_Covers on the table
# (not the view) so the GIST index on geom finds the candidates; "no newer version exists" then keeps the current
# ones (a primary-key probe each).
_RESOLVE = """
with pts as (
  select p.ord, p.j, ST_SetSRID(ST_MakePoint(p.long, p.lat), 4326) as geom
    from unnest(%(lat)s::float8[], %(long)s::float8[], %(j)s::text[]) with ordinality as p(lat, long, j, ord)
), bounded as (
  select distinct jurisdiction_id from geo.current_service_areas
   where jurisdiction_id = any(%(js)s) and kind = %(boundary)s
)
select pts.ord, a.area_id, a.kind, a.name, a.version, b.jurisdiction_id is not null as has_boundary
  from pts
  cross join lateral (
    select c.area_id, c.kind, c.name, c.version from geo.service_areas c
     where ST_Covers(c.geom, pts.geom) and c.jurisdiction_id = pts.j
       and not exists (select 1 from geo.service_areas n
                        where n.jurisdiction_id = c.jurisdiction_id and n.area_id = c.area_id
                          and n.version > c.version)) a
  left join bounded b on b.jurisdiction_id = pts.j
 order by pts.ord, a.kind, a.area_id
"""


class AreaVersions(AreaDefinitions):
    """The store bound to the consumer's connection, as the configuration handler sees it."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def define(self, event: Event[Any]) -> int:
        return await PostgresAreaStore().define(self.conn, event)


class PostgresAreaResolver(AreaResolver, AreaOutlines):
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def areas_at(self, jurisdiction_id: str, lat: float, long: float) -> list[AreaRef]:
        (found,) = await self.resolve_many(jurisdiction_id, [(lat, long)])
        return list(found.areas)

    async def locate(self, jurisdiction_id: str, lat: float, long: float) -> PointAreas:
        (found,) = await self.resolve_many(jurisdiction_id, [(lat, long)])
        return found

    async def resolve_many(
        self, jurisdiction_id: str, points: Sequence[tuple[float, float]]
    ) -> list[PointAreas]:
        """(lat, long) points -> what covers each, in order; one query for all of them."""
        return await self.locate_many([(jurisdiction_id, lat, long) for lat, long in points])

    async def locate_many(self, points: Sequence[tuple[str, float, float]]) -> list[PointAreas]:
        """(jurisdiction, lat, long) points -> what covers each, in order; one query for all of them."""
        for _, lat, long in points:
            if not (-90 <= lat <= 90 and -180 <= long <= 180):
                raise ValueError(f"({lat}, {long}) is not a WGS84 (lat, long) point")
        if not points:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _RESOLVE,
                {
                    "lat": [float(lat) for _, lat, _ in points],
                    "long": [float(long) for _, _, long in points],
                    "j": [j for j, _, _ in points],
                    "js": sorted({j for j, _, _ in points}),
                    "boundary": BOUNDARY_KIND,
                },
            )
            rows = await cur.fetchall()
        found: list[list[AreaRef]] = [[] for _ in points]
        bounded = [False for _ in points]
        for ord_, area_id, kind, name, version, has_boundary in rows:
            found[ord_ - 1].append(AreaRef(area_id=area_id, kind=kind, name=name, version=version))
            bounded[ord_ - 1] = has_boundary
        # A point no area covers is outside, boundary or not.
        return [
            PointAreas(tuple(refs), any(r.kind == BOUNDARY_KIND for r in refs) if has else bool(refs))
            for refs, has in zip(found, bounded, strict=True)
        ]

    async def list_areas(self, jurisdiction_id: str, kind: str | None = None) -> list[AreaSummary]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                """select area_id, kind, name, version, source, defined_at,
                          ST_Area(geom::geography) / 1e6 as area_km2, ST_NPoints(geom) as vertices
                     from geo.current_service_areas
                    where jurisdiction_id = %s and (%s::text is null or kind = %s)
                    order by kind, area_id""",
                (jurisdiction_id, kind, kind),
            )
            return [AreaSummary(**row) for row in await cur.fetchall()]

    async def area_geojson(
        self, jurisdiction_id: str, area_id: str, version: int | None = None
    ) -> dict | None:
        """The area's geometry as GeoJSON: the given version, or the current one."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """select ST_AsGeoJSON(geom) from geo.service_areas
                    where jurisdiction_id = %s and area_id = %s and (%s::int is null or version = %s)
                    order by version desc limit 1""",
                (jurisdiction_id, area_id, version, version),
            )
            row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def current_versions(self, jurisdiction_id: str, kind: str | None) -> list[tuple[str, int]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """select area_id, version from geo.current_service_areas
                    where jurisdiction_id = %s and (%s::text is null or kind = %s)
                    order by kind, area_id""",
                (jurisdiction_id, kind, kind),
            )
            return [(str(a), int(v)) for a, v in await cur.fetchall()]

    async def outlines(
        self, jurisdiction_id: str, kind: str | None, *, tolerance_m: float, limit: int
    ) -> list[AreaOutline]:
        # Tolerance in degrees of latitude (a degree of longitude is shorter: never coarser than asked); simplified
        # per area, preserving topology so no area vanishes; points to 5 decimals (about a metre).
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                """select area_id, kind, name, version,
                          ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %s), 5) as geometry
                     from geo.current_service_areas
                    where jurisdiction_id = %s and (%s::text is null or kind = %s)
                    order by kind, area_id
                    limit %s""",
                (tolerance_m / METRES_PER_DEGREE, jurisdiction_id, kind, kind, limit),
            )
            return [
                AreaOutline(str(a), str(k), str(n), int(v), str(g)) for a, k, n, v, g in await cur.fetchall()
            ]
