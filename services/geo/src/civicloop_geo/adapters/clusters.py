"""Hot spots: ST_ClusterDBSCAN over recent open requests, per category, in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from civicloop_geo.domain.clusters import Announced, ClusterFound
from civicloop_geo.domain.places import distance_m
from civicloop_geo.service_layer.ports import ClusterStore

# DBSCAN runs in Web Mercator, whose metres stretch by 1/cos(latitude): eps is scaled at the jurisdiction's mean
# latitude, which keeps the error under 1 % across a city or a county.
DBSCAN_QUERY = """
with recent as (
  select request_id, service_code, geog::geometry as geom, area_ids
    from geo.requests
   where jurisdiction_id = %(j)s and status <> 'closed' and merged_into is null
     and submitted_at between %(since)s and %(until)s
), scale as (
  select 1 / cos(radians(avg(ST_Y(geom)))) as stretch from recent
), labelled as (
  select r.*, ST_ClusterDBSCAN(ST_Transform(r.geom, 3857), eps := %(eps)s * (select stretch from scale),
                               minpoints := %(min_points)s) over (partition by r.service_code) as cluster
    from recent r
)
select service_code, array_agg(request_id order by request_id) as members,
       ST_Y(ST_Centroid(ST_Collect(geom))) as lat, ST_X(ST_Centroid(ST_Collect(geom))) as long,
       array_agg(ST_Y(geom)) as lats, array_agg(ST_X(geom)) as longs,
       (select coalesce(array_agg(distinct a), '{}') from unnest(array_agg(area_ids)) as a) as area_ids
  from labelled
 where cluster is not null
 group by service_code, cluster
"""


class PostgresClusterStore(ClusterStore):
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def jurisdictions_with_recent_requests(self, since: datetime) -> list[str]:
        return await jurisdictions_with_recent_requests(self.conn, since)

    async def announced_since(self, jurisdiction_id: str, since: datetime) -> list[Announced]:
        return await announced_since(self.conn, jurisdiction_id, since)

    async def find_clusters(
        self, jurisdiction_id: str, *, since: datetime, until: datetime, eps_m: float, min_points: int
    ) -> list[ClusterFound]:
        return await find_clusters(
            self.conn, jurisdiction_id, since=since, until=until, eps_m=eps_m, min_points=min_points
        )

    async def remember(
        self, cluster_id: str, jurisdiction_id: str, found: ClusterFound, detected_at: datetime
    ) -> None:
        await remember(self.conn, cluster_id, jurisdiction_id, found, detected_at)


async def find_clusters(
    conn: psycopg.AsyncConnection[Any],
    jurisdiction_id: str,
    *,
    since: datetime,
    until: datetime,
    eps_m: float,
    min_points: int,
) -> list[ClusterFound]:
    cur = await conn.execute(
        DBSCAN_QUERY,
        {"j": jurisdiction_id, "since": since, "until": until, "eps": eps_m, "min_points": min_points},
    )
    found = []
    for code, members, lat, long, lats, longs, area_ids in await cur.fetchall():
        radius = max(distance_m(lat, long, a, b) for a, b in zip(lats, longs, strict=True))
        found.append(
            ClusterFound(
                service_code=code,
                request_ids=tuple(members),
                centre_lat=lat,
                centre_long=long,
                radius_m=round(radius, 1),
                area_ids=tuple(sorted(area_ids)),
            )
        )
    return found


async def jurisdictions_with_recent_requests(
    conn: psycopg.AsyncConnection[Any], since: datetime
) -> list[str]:
    cur = await conn.execute(
        "select distinct jurisdiction_id from geo.requests where submitted_at >= %s and status <> 'closed'",
        (since,),
    )
    return [row[0] for row in await cur.fetchall()]


async def announced_since(
    conn: psycopg.AsyncConnection[Any], jurisdiction_id: str, since: datetime
) -> list[Announced]:
    cur = await conn.execute(
        """select service_code, ST_Y(centroid::geometry), ST_X(centroid::geometry), request_ids, detected_at
             from geo.clusters where jurisdiction_id = %s and detected_at >= %s""",
        (jurisdiction_id, since),
    )
    return [
        Announced(
            service_code=c, centre_lat=lat, centre_long=long, request_ids=frozenset(ids), detected_at=at
        )
        for c, lat, long, ids, at in await cur.fetchall()
    ]


async def remember(
    conn: psycopg.AsyncConnection[Any],
    cluster_id: str,
    jurisdiction_id: str,
    found: ClusterFound,
    detected_at: datetime,
) -> None:
    await conn.execute(
        """insert into geo.clusters (cluster_id, jurisdiction_id, service_code, centroid, request_ids, detected_at)
           values (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s, %s)
           on conflict (cluster_id) do nothing""",
        (
            cluster_id,
            jurisdiction_id,
            found.service_code,
            found.centre_long,
            found.centre_lat,
            list(found.request_ids),
            detected_at,
        ),
    )
