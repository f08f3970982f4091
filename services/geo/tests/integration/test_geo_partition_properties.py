"""Property tests on the real PostGIS: the wards of Somerville and the council districts of New York partition
their territory, so every point inside resolves to exactly one area, every point outside to none (flagged outside).

Points are decided with shapely on the very geometries that were stored. Points within EDGE of an area's boundary
are only required to resolve to areas that touch them: on a shared edge two districts legitimately cover a point
(ST_Covers includes the boundary), and at 1e-9° (0.1 mm) GEOS and PostGIS may round a point-in-polygon test apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import pytest_asyncio
import shapely
from civicloop_geo.adapters.area_store import PostgresAreaResolver
from civicloop_runtime.db import open_pool
from geo_area_loading import KINDS, load_report, new_jurisdiction, prepared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

pytestmark = pytest.mark.integration

EDGE = 1e-9
# Real PostGIS round trips per example: few examples, many points each; no deadline (a cold cache is slow).
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Partition:
    jurisdiction: str
    areas: dict[str, shapely.Geometry]
    union: shapely.Geometry
    triangles: list[tuple[str, shapely.Geometry]]  # (area id, triangle): a way to draw points inside an area
    bounds: tuple[float, float, float, float]

    def expected(self, p: Point) -> tuple[set[str], set[str]]:
        """(areas that must cover p, areas that may): equal unless p is within EDGE of some area's boundary."""
        near = {a for a, g in self.areas.items() if g.distance(p) <= EDGE}
        strictly = {a for a in near if g_contains(self.areas[a], p)}
        return strictly, near


def g_contains(geom: shapely.Geometry, p: Point) -> bool:
    return geom.contains(p) and geom.boundary.distance(p) > EDGE


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def partition_pool(geo_dsn):
    pool = await open_pool(geo_dsn, min_size=1, max_size=2, name="geo-partition-tests")
    yield pool
    await pool.close()


async def load_partition(pool, name: str) -> Partition:
    report = prepared(name)
    j = new_jurisdiction()
    await load_report(pool, j, report, KINDS[name])
    areas = {a.area_id: shape(a.geometry) for a in report.areas}
    triangles = [
        (area_id, t) for area_id, g in areas.items() for t in shapely.constrained_delaunay_triangles(g).geoms
    ]
    union = shapely.union_all(list(areas.values()))
    return Partition(j, areas, union, triangles, union.bounds)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def somerville(partition_pool) -> Partition:
    return await load_partition(partition_pool, "somerville-wards")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def nyc(partition_pool) -> Partition:
    return await load_partition(partition_pool, "nyc-council-districts")


unit = st.floats(min_value=0, max_value=1, allow_nan=False)


def point_in_triangle(triangle: shapely.Geometry, u: float, v: float) -> Point:
    if u + v > 1:  # fold the unit square onto the triangle
        u, v = 1 - u, 1 - v
    (ax, ay), (bx, by), (cx, cy) = list(triangle.exterior.coords)[:3]
    return Point(ax + u * (bx - ax) + v * (cx - ax), ay + u * (by - ay) + v * (cy - ay))


def interior_points(partition: Partition, draw_index, u_v: list[tuple[float, float]]) -> list[Point]:
    return [
        point_in_triangle(partition.triangles[i][1], u, v) for i, (u, v) in zip(draw_index, u_v, strict=True)
    ]


def bbox_points(partition: Partition, u_v: list[tuple[float, float]], margin: float = 0.01) -> list[Point]:
    west, south, east, north = partition.bounds
    return [
        Point(
            west - margin + u * (east - west + 2 * margin), south - margin + v * (north - south + 2 * margin)
        )
        for u, v in u_v
    ]


async def check(partition: Partition, resolver: PostgresAreaResolver, points: list[Point]) -> dict[str, int]:
    found = await resolver.resolve_many(partition.jurisdiction, [(p.y, p.x) for p in points])
    seen = {"inside": 0, "outside": 0, "edge": 0}
    for p, hit in zip(points, found, strict=True):
        ids = {r.area_id for r in hit.areas}
        must, may = partition.expected(p)
        if must == may:  # clear of every boundary
            assert ids == must, (p.wkt, ids, must)
            assert len(ids) <= 1, f"{p.wkt} is in {ids}: areas of a partition overlap"
            assert hit.inside == bool(ids) == partition.union.covers(p), p.wkt
            seen["inside" if ids else "outside"] += 1
        else:  # on (or within 0.1 mm of) an edge: the touching areas, and only those
            assert must <= ids <= may, (p.wkt, ids, must, may)
            seen["edge"] += 1
    return seen


def triangle_draws(n: int):
    return st.lists(st.tuples(st.integers(min_value=0, max_value=n - 1), unit, unit), min_size=1, max_size=40)


@pytest.fixture(scope="module", params=["somerville", "nyc"])
def partition(request) -> Partition:
    """Each partition in turn: the wards of Somerville, the council districts of New York."""
    return request.getfixturevalue(request.param)


@given(data=st.data())
@PROPERTY
async def test_a_point_inside_is_in_exactly_one_area(partition, partition_pool, data):
    draws = data.draw(triangle_draws(len(partition.triangles)))
    points = interior_points(partition, [i for i, _, _ in draws], [(u, v) for _, u, v in draws])
    seen = await check(partition, PostgresAreaResolver(partition_pool), points)
    assert seen["outside"] == 0  # drawn inside an area's triangulation, so inside (or on an edge)


@given(u_v=st.lists(st.tuples(unit, unit), min_size=1, max_size=40))
@PROPERTY
async def test_any_point_around_is_in_one_area_or_flagged_outside(partition, partition_pool, u_v):
    # Around New York means much water and New Jersey: plenty of outside points, checked to resolve to nothing.
    await check(partition, PostgresAreaResolver(partition_pool), bbox_points(partition, u_v))


async def test_points_on_shared_district_edges_resolve_to_every_district_that_touches_them(
    nyc, partition_pool
):
    # A vertex two districts share lies on both boundaries: ST_Covers puts it in both, as shapely does.
    vertex_owners: dict[tuple[float, float], set[str]] = {}
    for area_id, g in nyc.areas.items():
        for x, y in shapely.get_coordinates(g):
            vertex_owners.setdefault((x, y), set()).add(area_id)
    shared = sorted((xy, owners) for xy, owners in vertex_owners.items() if len(owners) > 1)
    assert len(shared) > 1000
    sample = shared[:: max(1, len(shared) // 300)]
    found = await PostgresAreaResolver(partition_pool).resolve_many(
        nyc.jurisdiction, [(y, x) for (x, y), _ in sample]
    )
    for ((x, y), owners), hit in zip(sample, found, strict=True):
        covering = {a for a, g in nyc.areas.items() if g.covers(Point(x, y))}
        assert {r.area_id for r in hit.areas} == covering == owners, (x, y)
        assert hit.inside


async def test_the_port_answers_one_point_at_a_time_like_the_bulk_query(somerville, partition_pool):
    resolver = PostgresAreaResolver(partition_pool)
    centres = {a: g.point_on_surface() for a, g in somerville.areas.items()}
    for area_id, p in centres.items():
        (ref,) = await resolver.areas_at(somerville.jurisdiction, p.y, p.x)
        assert (ref.area_id, ref.kind, ref.version) == (area_id, "ward", 1)
    assert await resolver.areas_at(somerville.jurisdiction, 40.0, -100.0) == []  # Kansas
    assert (await resolver.locate(somerville.jurisdiction, 40.0, -100.0)).outside
