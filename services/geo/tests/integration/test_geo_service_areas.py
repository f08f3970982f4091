"""Service areas on the real PostGIS (and the real broker for the CLI): real boundaries, versions, resolution."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections import Counter

import pytest
import shapefile
import shapely
from civicloop_events import decode_event
from civicloop_geo.adapters.area_store import PostgresAreaResolver, PostgresAreaStore
from civicloop_geo.adapters.boundary_files import read_boundary_file
from civicloop_geo.domain.boundaries import AreaNaming, prepare_areas
from civicloop_geo.entrypoints.cli_areas import areas_app
from civicloop_runtime.db import open_pool
from civicloop_testing import read_all_records
from geo_area_loading import (
    KINDS,
    area_event,
    boundary_path,
    data_dir,
    define_all,
    load_report,
    new_jurisdiction,
    prepared,
)
from pyproj import CRS, Transformer
from shapely.geometry import shape
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
WIDER = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("nyc-council-districts", 51),
        ("la-neighborhood-councils-2019", 99),
        ("somerville-wards", 7),
    ],
)
async def test_each_real_boundary_file_loads_whole_and_resolves_its_own_interior_points(
    geo_pool, name, count
):
    report = prepared(name)
    assert (len(report.areas), report.rejected, report.repaired) == (count, (), ())
    j = new_jurisdiction()
    assert await load_report(geo_pool, j, report, KINDS[name]) == [1] * count

    resolver = PostgresAreaResolver(geo_pool)
    listed = await resolver.list_areas(j)
    assert sorted(a.area_id for a in listed) == sorted(a.area_id for a in report.areas)
    by_id = {a.area_id: a for a in report.areas}
    for summary in listed:
        # PostGIS's geodesic area agrees with pyproj's on the same geometry
        assert summary.area_km2 == pytest.approx(by_id[summary.area_id].area_km2, rel=1e-3)
        assert (summary.version, summary.kind, summary.vertices) == (
            1,
            KINDS[name],
            by_id[summary.area_id].vertices,
        )

    # a point surely inside each area (GEOS's point on surface) resolves to that area
    points = [shape(a.geometry).point_on_surface() for a in report.areas]
    found = await resolver.resolve_many(j, [(p.y, p.x) for p in points])
    for area, hit in zip(report.areas, found, strict=True):
        assert area.area_id in [r.area_id for r in hit.areas] and hit.inside
    stored = await resolver.area_geojson(j, report.areas[0].area_id)
    assert shape(stored).equals_exact(shape(report.areas[0].geometry), tolerance=1e-9)


async def test_a_second_definition_is_version_2_resolution_uses_it_and_version_1_stays(geo_pool):
    j = new_jurisdiction()
    first = area_event(j, "a1", "Area One", "district", SQUARE)
    second = area_event(j, "a1", "Area One (enlarged)", "district", WIDER)
    same_again = area_event(
        j, "a1", "Area One (enlarged)", "district", WIDER
    )  # identical content, a new event
    assert await define_all(geo_pool, [first, second]) == [1, 2]

    resolver = PostgresAreaResolver(geo_pool)
    (ref,) = await resolver.areas_at(j, 0.5, 1.5)  # only the enlarged version covers x = 1.5
    assert (ref.area_id, ref.version, ref.name) == ("a1", 2, "Area One (enlarged)")
    (ref,) = await resolver.areas_at(
        j, 0.5, 0.5
    )  # covered by both versions, reported once, as the current one
    assert ref.version == 2
    assert shape(await resolver.area_geojson(j, "a1", version=1)).equals(shape(SQUARE))
    assert shape(await resolver.area_geojson(j, "a1")).equals(shape(WIDER))

    # every event is a version, even one that repeats the current geometry and name; a replay is not
    assert await define_all(geo_pool, [same_again, second, first]) == [3, 2, 1]
    async with geo_pool.connection() as conn:
        cur = await conn.execute(
            "select version, name, event_id from geo.service_areas where jurisdiction_id = %s order by version",
            (j,),
        )
        rows = await cur.fetchall()
    assert [(v, n, e) for v, n, e in rows] == [
        (1, "Area One", first.event_id),
        (2, "Area One (enlarged)", second.event_id),
        (3, "Area One (enlarged)", same_again.event_id),
    ]
    (summary,) = await resolver.list_areas(j)
    assert summary.version == 3


async def test_concurrent_definitions_of_one_area_get_distinct_versions(geo_pool):
    j = new_jurisdiction()
    events = [area_event(j, "c", f"C{i}", "district", SQUARE) for i in range(4)]
    store = PostgresAreaStore()

    async def define(e):
        async with geo_pool.connection() as conn:
            return await store.define(conn, e)

    assert sorted(await asyncio.gather(*(define(e) for e in events))) == [1, 2, 3, 4]


async def test_inside_means_covered_by_a_boundary_when_the_jurisdiction_has_one(geo_pool):
    j = new_jurisdiction()
    resolver = PostgresAreaResolver(geo_pool)
    await define_all(geo_pool, [area_event(j, "d1", "D1", "district", SQUARE)])
    outside, on_edge, inside = await resolver.resolve_many(j, [(0.5, 3.0), (0.5, 1.0), (0.5, 0.5)])
    assert (outside.areas, outside.outside) == ((), True)
    assert [r.area_id for r in on_edge.areas] == ["d1"] and on_edge.inside  # covers: the edge is in
    assert [r.area_id for r in inside.areas] == ["d1"] and inside.inside

    # Once a "boundary" exists, it alone decides: in the boundary but in no district is inside,
    # in a district that strays past the boundary is outside.
    stray = {"type": "Polygon", "coordinates": [[[1, 0], [4, 0], [4, 1], [1, 1], [1, 0]]]}
    await define_all(
        geo_pool,
        [
            area_event(j, "city", "City", "boundary", WIDER),
            area_event(j, "d2", "D2", "district", stray),
        ],
    )
    gap, in_both, past = await resolver.resolve_many(j, [(0.5, 1.5), (0.5, 0.5), (0.5, 3.0)])
    assert [(r.kind, r.area_id) for r in in_both.areas] == [("boundary", "city"), ("district", "d1")]
    assert gap.inside and [r.area_id for r in gap.areas] == ["city", "d2"]
    assert past.outside and [r.area_id for r in past.areas] == ["d2"]
    assert await resolver.resolve_many(new_jurisdiction(), [(0.5, 0.5)]) == [type(gap)((), False)]
    with pytest.raises(ValueError, match="not a WGS84"):
        await resolver.areas_at(j, 95.0, 0.0)


async def test_resolution_finds_candidates_through_the_gist_index(geo_pool):
    from civicloop_geo.adapters import area_store

    j = new_jurisdiction()
    report = prepared("somerville-wards")
    await load_report(geo_pool, j, report, "ward")
    points = [shape(a.geometry).point_on_surface() for a in report.areas] * 100
    async with geo_pool.connection() as conn:
        await conn.execute("analyze geo.service_areas")  # the plan a long-running database would get
        cur = await conn.execute(
            "explain " + area_store._RESOLVE,
            {
                "lat": [p.y for p in points],
                "long": [p.x for p in points],
                "j": [j] * len(points),  # one jurisdiction per point: a batch may span several
                "js": [j],
                "boundary": area_store.BOUNDARY_KIND,
            },
        )
        plan = "\n".join(r[0] for r in await cur.fetchall())
    assert "service_areas_geom" in plan, plan


async def test_a_projected_shapefile_with_a_prj_loads_back_to_the_same_wards(geo_pool, tmp_path):
    wgs84 = prepared("somerville-wards")
    to_feet = Transformer.from_crs("EPSG:4326", "EPSG:2249", always_xy=True)
    writer = shapefile.Writer(str(tmp_path / "wards"), shapeType=shapefile.POLYGON)
    writer.field("WARD", "N", size=4)
    writer.field("LABEL", "C", size=40)
    for a in wgs84.areas:
        rings = [
            [list(to_feet.transform(x, y)) for x, y in ring]
            for poly in a.geometry["coordinates"]
            for ring in poly
        ]
        writer.poly(
            [list(reversed(r)) for r in rings]
        )  # Shapefile outer rings run clockwise, holes the other way
        writer.record(int(a.area_id.removeprefix("ward-")), a.name)
    writer.close()
    (tmp_path / "wards.prj").write_text(CRS.from_epsg(2249).to_wkt("WKT1_ESRI"))

    read = read_boundary_file(tmp_path / "wards.shp")
    assert (read.format, len(read.features)) == ("shapefile", 7)
    naming = AreaNaming(id_property="WARD", name_property="LABEL", id_prefix="ward-")
    report = prepare_areas(read.features, naming=naming, crs=read.crs)
    assert report.transformed and report.ok and not report.repaired
    j = new_jurisdiction()
    await load_report(geo_pool, j, report, "ward")

    resolver = PostgresAreaResolver(geo_pool)
    originals = {a.area_id: shape(a.geometry) for a in wgs84.areas}
    for a in report.areas:
        back = shape(await resolver.area_geojson(j, a.area_id))
        assert back.hausdorff_distance(originals[a.area_id]) < 5e-7, a.area_id  # a few centimetres
        assert back.symmetric_difference(originals[a.area_id]).area / originals[a.area_id].area < 1e-6
        assert a.name == f"Ward {a.area_id.removeprefix('ward-')}"


AGREEMENT_BOUND = 0.98  # measured 98.90% (8 066 of 8 156); the 2017 requests predate the 2019 boundaries


async def test_los_angeles_requests_agree_with_the_citys_neighborhood_council(geo_pool):
    j = new_jurisdiction()
    await load_report(geo_pool, j, prepared("la-neighborhood-councils-2019"), "neighborhood_council")
    rows = []
    with (data_dir() / "requests" / "la-311-2017-sample.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            nc, lat, long = row["NC"].strip(), row["Latitude"].strip(), row["Longitude"].strip()
            if nc and float(nc) != 0 and lat and long and float(lat) != 0:
                rows.append((f"nc-{int(float(nc))}", float(lat), float(long)))
    assert len(rows) > 8_000  # 1 753 rows have no point, 100 no NC

    started = time.perf_counter()
    found = await PostgresAreaResolver(geo_pool).resolve_many(j, [(lat, long) for _, lat, long in rows])
    seconds = time.perf_counter() - started
    tally: Counter[str] = Counter()
    for (expected, _, _), hit in zip(rows, found, strict=True):
        ids = [r.area_id for r in hit.areas]
        tally["outside every NC" if not ids else "agree" if expected in ids else "disagree"] += 1
        tally["in two or more NCs"] += len(ids) > 1
        tally["agree, the only NC"] += ids == [expected]
    rate = tally["agree"] / len(rows)
    message = (
        f"LA 2017 sample vs 2019 NC boundaries: {len(rows)} requests with an NC, agreement {rate:.2%} "
        f"({dict(tally)}), resolved in {seconds:.2f}s"
    )
    print(message)
    assert rate > AGREEMENT_BOUND, message


def test_the_cli_publishes_one_event_per_area_and_refuses_a_file_with_rejects(
    fresh_topics, kafka_bootstrap, monkeypatch, tmp_path
):
    # A sync test: the command runs its own event loop (asyncio.run), as it does from a shell.
    monkeypatch.setenv("CIVICLOOP_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("CIVICLOOP_TOPIC_PREFIX", fresh_topics.prefix)
    monkeypatch.setenv("CIVICLOOP_TOPIC_PARTITIONS", str(fresh_topics.partitions))
    j = new_jurisdiction()
    runner = CliRunner()
    wards = str(boundary_path("somerville-wards"))
    args = [
        "load",
        wards,
        "--jurisdiction",
        j,
        "--kind",
        "ward",
        "--id-property",
        "Ward",
        "--name-template",
        "Ward {Ward}",
        "--id-prefix",
        "ward-",
    ]

    dry = runner.invoke(areas_app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "7 area(s) to publish" in dry.output and "nothing was" in dry.output

    bad = json.loads(boundary_path("somerville-wards").read_text())
    bad["features"].append(
        {
            "type": "Feature",
            "properties": {"Ward": "8"},
            "geometry": {"type": "Point", "coordinates": [-71.1, 42.39]},
        }
    )
    (tmp_path / "bad.geojson").write_text(json.dumps(bad))
    refused = runner.invoke(areas_app, ["load", str(tmp_path / "bad.geojson"), *args[2:]])
    assert refused.exit_code == 1
    assert "a Point is not an area" in refused.output and "Nothing was published" in refused.output

    published = runner.invoke(areas_app, args)
    assert published.exit_code == 0, published.output
    assert f"published 7 ServiceAreaDefined to {fresh_topics.jurisdiction_config}" in published.output

    records = asyncio.run(read_all_records(kafka_bootstrap, fresh_topics.jurisdiction_config, 1))
    events = [decode_event(r.value) for r in records]
    assert [r.key for r in records] == [j.encode()] * 7  # keyed by jurisdiction
    assert sorted(e.payload.area_id for e in events) == [f"ward-{n}" for n in range(1, 8)]
    expected = {a.area_id: a for a in prepared("somerville-wards").areas}
    for e in events:
        assert (e.type, e.jurisdiction_id, e.source, e.actor.id, e.actor.kind.value) == (
            "jurisdiction.service_area.defined",
            j,
            "cli",
            "geo-cli",
            "system",
        )
        assert (e.payload.kind, e.payload.source, e.payload.name) == (
            "ward",
            "somerville-wards.geojson",
            expected[e.payload.area_id].name,
        )
        assert shapely.equals(shape(e.payload.geometry), shape(expected[e.payload.area_id].geometry))


def test_the_cli_refuses_an_area_too_large_for_one_event_unless_simplified(tmp_path):
    # 50 000 vertices on a 1 km circle: ~1.3 MB of GeoJSON, over the 1 MB a Kafka record may carry by default.
    circle = shapely.Point(-71.1, 42.39).buffer(0.01, quad_segs=12_500)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"id": "big"}, "geometry": shapely.geometry.mapping(circle)}
        ],
    }
    (tmp_path / "big.geojson").write_text(json.dumps(doc))
    args = [
        "load",
        str(tmp_path / "big.geojson"),
        "--jurisdiction",
        new_jurisdiction(),
        "--kind",
        "district",
        "--id-property",
        "id",
        "--dry-run",
    ]

    refused = CliRunner().invoke(areas_app, args)
    assert refused.exit_code == 1, refused.output
    assert "too large for one event" in refused.output and "big (1." in refused.output
    simplified = CliRunner().invoke(areas_app, [*args, "--simplify", "0.00001"])
    assert simplified.exit_code == 0, simplified.output


def test_the_cli_lists_the_current_version_of_each_area(geo_dsn, monkeypatch):
    j = new_jurisdiction()

    async def define() -> None:
        pool = await open_pool(geo_dsn, min_size=1, max_size=1, name="geo-cli-list-test")
        try:
            await define_all(
                pool,
                [
                    area_event(j, "a1", "First", "district", SQUARE),
                    area_event(j, "a1", "First, redrawn", "district", WIDER),
                    area_event(j, "b2", "Second", "ward", SQUARE, source="wards.shp"),
                ],
            )
        finally:
            await pool.close()

    asyncio.run(define())
    monkeypatch.setenv("CIVICLOOP_PG_DSN", geo_dsn)
    monkeypatch.setenv("COLUMNS", "200")  # rich's width: one table row per line
    listed = CliRunner().invoke(areas_app, ["list", "--jurisdiction", j])
    assert listed.exit_code == 0, listed.output
    assert f"2 service area(s) of {j}" in listed.output
    lines = {line.split("│")[1].strip(): line for line in listed.output.splitlines() if line.count("│") > 5}
    assert set(lines) == {"a1", "b2"}
    assert "First, redrawn" in lines["a1"] and "│ 2 " in lines["a1"] and "wards.shp" in lines["b2"]
    only_wards = CliRunner().invoke(areas_app, ["list", "--jurisdiction", j, "--kind", "ward"])
    assert "1 service area(s)" in only_wards.output
