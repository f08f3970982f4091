"""The duplicate-candidate query and the DBSCAN sweep on the real PostGIS."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import pytest
from civicloop_events import Event
from civicloop_events.payloads import ClusterDetected
from civicloop_geo.adapters.clusters import PostgresClusterStore
from civicloop_geo.adapters.request_places import (
    DUPLICATE_QUERY,
    PostgresRequestPlaces,
    duplicate_query_params,
)
from civicloop_geo.domain.duplicates import NearbySearch
from civicloop_geo.domain.places import distance_m
from civicloop_geo.service_layer.cluster_sweep import ClusterPolicy, sweep
from civicloop_geo.service_layer.ports import EventPublisher, RequestPlace
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LAT, LONG = 34.0522, -118.2437  # downtown Los Angeles


def offset(lat: float, long: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, long + east_m / (111_195.0 * math.cos(math.radians(lat)))


def place(
    j: str,
    n: int,
    lat: float,
    long: float,
    *,
    code: str = "pothole",
    at: datetime = T0,
    areas: tuple[str, ...] = (),
) -> RequestPlace:
    return RequestPlace(
        request_id=f"{j}-{n:04d}",
        jurisdiction_id=j,
        service_code=code,
        submitted_at=at,
        lat=lat,
        long=long,
        area_ids=areas,
        h3_cell=h3.latlng_to_cell(lat, long, 9),
    )


class Recorder(EventPublisher):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.events.append(event)


async def test_nearby_open_finds_only_open_unmerged_same_category_within_radius_and_window(
    geo_pool: AsyncConnectionPool,
) -> None:
    j = f"dup-{uuid.uuid4().hex[:8]}"
    async with geo_pool.connection() as conn, conn.transaction():
        store = PostgresRequestPlaces(conn)
        near = offset(LAT, LONG, 120, 0)
        assert await store.record(place(j, 1, *near))
        assert not await store.record(place(j, 1, *near)), "a replayed placement is not recorded twice"
        await store.record(place(j, 2, *offset(LAT, LONG, 0, 480)))
        await store.record(place(j, 3, *offset(LAT, LONG, 0, 510)))  # outside 500 m
        await store.record(place(j, 4, *offset(LAT, LONG, 10, 10), code="graffiti"))
        await store.record(place(j, 5, *offset(LAT, LONG, 20, 0), at=T0 - timedelta(days=40)))
        await store.record(place(j, 6, *offset(LAT, LONG, 30, 0)))
        await store.set_status(f"{j}-0006", "closed")
        await store.record(place(j, 7, *offset(LAT, LONG, 40, 0)))
        await store.mark_merged(f"{j}-0007", f"{j}-0001")
        found = await store.nearby_open(
            NearbySearch(
                j,
                LAT,
                LONG,
                service_codes=("pothole",),
                radius_m=500,
                since=T0 - timedelta(days=30),
                until=T0,
                limit=10,
            )
        )
        assert [n.request_id for n in found] == [f"{j}-0001", f"{j}-0002"]
        # Spheroid distances: within 0.5 % of the spherical offsets the points were laid out with.
        assert [n.distance_m for n in found] == [pytest.approx(120, rel=5e-3), pytest.approx(480, rel=5e-3)]
        both = await store.nearby_open(
            NearbySearch(
                j,
                LAT,
                LONG,
                service_codes=("pothole", "graffiti"),
                radius_m=500,
                since=T0 - timedelta(days=30),
                until=T0,
                limit=10,
            )
        )
        assert both[0].request_id == f"{j}-0004"


async def test_the_duplicate_query_uses_the_spatial_or_category_index(geo_pool: AsyncConnectionPool) -> None:
    async with geo_pool.connection() as conn:
        await conn.execute("set enable_seqscan = off")
        cur = await conn.execute(
            "explain " + DUPLICATE_QUERY,
            duplicate_query_params(
                NearbySearch(
                    "x", LAT, LONG, service_codes=("pothole",), radius_m=500, since=T0, until=T0, limit=20
                )
            ),
        )
        plan = "\n".join(r[0] for r in await cur.fetchall())
        await conn.execute("reset enable_seqscan")
    assert "requests_geog" in plan or "requests_open_by_category" in plan, plan


async def test_a_spike_of_one_category_in_one_place_is_announced_once(geo_pool: AsyncConnectionPool) -> None:
    j = f"clu-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with geo_pool.connection() as conn, conn.transaction():
        store = PostgresRequestPlaces(conn)
        for i in range(6):  # six dumping reports within ~100 m
            await store.record(
                place(
                    j,
                    i,
                    *offset(LAT, LONG, 20 * i, 15 * (i % 2)),
                    code="dumping",
                    at=now - timedelta(hours=i),
                    areas=("cd-14",),
                )
            )
        for i in range(6, 9):  # three far apart: noise
            await store.record(
                place(
                    j, i, *offset(LAT, LONG, 3000 * (i - 5), 0), code="dumping", at=now - timedelta(hours=1)
                )
            )
        for i in range(9, 13):  # four potholes next to the dumping: another category, below min_points
            await store.record(place(j, i, *offset(LAT, LONG, 5 * i, 0), at=now - timedelta(hours=1)))
        for i in range(13, 19):  # an old spike, outside the window
            await store.record(
                place(j, i, *offset(LAT, LONG, -5000 + i, 0), code="dumping", at=now - timedelta(days=10))
            )
    policy = ClusterPolicy(eps_m=250, min_points=5, window=timedelta(hours=72))
    recorder = Recorder()
    async with geo_pool.connection() as conn, conn.transaction():
        announced = await sweep(PostgresClusterStore(conn), recorder, policy, now=now)
    mine = [e for e in announced if e.jurisdiction_id == j]
    assert len(mine) == 1
    c: ClusterDetected = mine[0].payload
    assert c.service_code == "dumping" and sorted(c.request_ids) == [f"{j}-{i:04d}" for i in range(6)]
    assert c.area_ids == ["cd-14"] and 50 < c.radius_m < 150
    assert mine[0].request_id is None and mine[0].key == j.encode()
    # The centre is public: an H3 cell's centre, near the members' centroid (~50 m north of LAT, LONG).
    assert (
        c.centre.h3_resolution == 9 and h3.latlng_to_cell(c.centre.lat, c.centre.long, 9) == c.centre.h3_cell
    )
    assert distance_m(c.centre.lat, c.centre.long, *offset(LAT, LONG, 50, 7)) < 250

    async with geo_pool.connection() as conn, conn.transaction():
        await store_extra(conn, j, now)
        again = await sweep(PostgresClusterStore(conn), recorder, policy, now=now + timedelta(minutes=5))
    assert [e for e in again if e.jurisdiction_id == j] == [], "a cluster that grew is not announced again"


async def store_extra(conn: Any, j: str, now: datetime) -> None:
    await PostgresRequestPlaces(conn).record(
        place(
            j, 99, *offset(LAT, LONG, 60, 0), code="dumping", at=now - timedelta(minutes=1), areas=("cd-14",)
        )
    )
