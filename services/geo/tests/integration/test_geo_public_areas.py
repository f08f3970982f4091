"""The public service-area map on geo's real app and the real PostGIS: anyone gets the jurisdiction's current areas
as GeoJSON (id, kind, name, version and a simplified outline, nothing else), cacheable (an ETag that changes only
when an area gets a new version, 304 for If-None-Match), and bounded in size even for a city's real boundaries."""

from __future__ import annotations

import json
import math
from uuid import uuid4

import pytest
from civicloop_geo.entrypoints.http import create_app
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.settings import Environment
from civicloop_testing.asgi import serving
from civicloop_testing.staff_tokens import verifier_for_tests
from geo_area_loading import NAMINGS, area_event, define_all, prepared

pytestmark = pytest.mark.integration

LAT0, LONG0 = 34.0, -118.0
PATH = "/api/v1/public/areas"


def square(half: float) -> dict:
    ring = [
        [LONG0 - half, LAT0 - half],
        [LONG0 + half, LAT0 - half],
        [LONG0 + half, LAT0 + half],
        [LONG0 - half, LAT0 + half],
        [LONG0 - half, LAT0 - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def circle(radius_deg: float, points: int) -> dict:
    """A polygon of many vertices a few cm apart: what a surveyed boundary looks like."""
    ring = [
        [
            LONG0 + radius_deg * math.cos(2 * math.pi * i / points),
            LAT0 + radius_deg * math.sin(2 * math.pi * i / points),
        ]
        for i in range(points)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def vertices(geometry: dict) -> int:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return sum(len(ring) for polygon in polygons for ring in polygon)


def app(geo_pool, **overrides):
    settings = GeoSettings(env=Environment.test, pg_dsn="postgresql://unused", **overrides)
    return create_app(settings, staff_verifier=verifier_for_tests(), pool=geo_pool, start_consumers=False)


async def test_anyone_gets_the_areas_as_simplified_geojson_with_an_etag(geo_pool):
    town, elsewhere = f"pa-{uuid4().hex[:8]}", f"pa-{uuid4().hex[:8]}"
    await define_all(
        geo_pool,
        [
            area_event(town, "town", "Town", "boundary", square(0.02)),
            area_event(town, "ward-1", "Ward 1", "ward", circle(0.01, 4000)),
            area_event(elsewhere, "other", "Other town", "boundary", square(0.5)),
        ],
    )
    async with serving(app(geo_pool), "http://geo") as client:
        answer = await client.get(PATH, params={"jurisdiction_id": town})  # no token: a public route
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/geo+json"
        assert answer.headers["cache-control"] == "public, max-age=300"
        etag = answer.headers["etag"]
        doc = answer.json()
        assert doc["type"] == "FeatureCollection" and doc["truncated"] is False
        assert doc["simplified_m"] == 10.0
        by_id = {f["id"]: f for f in doc["features"]}
        assert sorted(by_id) == ["town", "ward-1"]  # the other jurisdiction's area is not on this map
        for feature in doc["features"]:
            assert set(feature) == {"type", "id", "properties", "geometry"}
            assert set(feature["properties"]) == {"area_id", "kind", "name", "version"}
        assert by_id["ward-1"]["properties"] == {
            "area_id": "ward-1",
            "kind": "ward",
            "name": "Ward 1",
            "version": 1,
        }
        # 4,000 vertices ~1.7 m apart drawn with far fewer, still the same shape (about 1.1 km across).
        ward = by_id["ward-1"]["geometry"]
        assert 16 < vertices(ward) < 400
        xs = [p[0] for p in ward["coordinates"][0]]
        assert max(xs) - min(xs) == pytest.approx(0.02, abs=0.0005)

        unchanged = await client.get(PATH, params={"jurisdiction_id": town}, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag

        wards = await client.get(PATH, params={"jurisdiction_id": town, "kind": "ward"})
        assert [f["id"] for f in wards.json()["features"]] == ["ward-1"]
        assert wards.headers["etag"] != etag

        # A new version of an area: a new ETag, and the map shows that version.
        await define_all(geo_pool, [area_event(town, "ward-1", "Ward One", "ward", square(0.01))])
        changed = await client.get(PATH, params={"jurisdiction_id": town}, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        ward_now = {f["id"]: f for f in changed.json()["features"]}["ward-1"]
        assert ward_now["properties"]["version"] == 2 and ward_now["properties"]["name"] == "Ward One"

        nothing = await client.get(PATH, params={"jurisdiction_id": f"pa-{uuid4().hex[:8]}"})
        assert nothing.status_code == 200 and nothing.json()["features"] == []
        refused = await client.get(PATH, params={"jurisdiction_id": town, "kind": "a\x01b"})
        assert refused.status_code == 422


async def test_a_citys_real_boundaries_fit_the_bound(geo_pool):
    """LA's 99 neighbourhood councils (2.5 MB of GeoJSON) drawn within 120 kB: simplified further until they fit,
    every council still there; past `max_areas`, the first ones and `truncated`."""
    report = prepared("la-neighborhood-councils-2019")
    assert NAMINGS["la-neighborhood-councils-2019"]
    city = f"pa-{uuid4().hex[:8]}"
    await define_all(
        geo_pool,
        [area_event(city, a.area_id, a.name, "neighborhood_council", a.geometry) for a in report.areas],
    )
    bound = 120_000
    async with serving(app(geo_pool, public_areas_max_bytes=bound), "http://geo") as client:
        answer = await client.get(PATH, params={"jurisdiction_id": city})
        assert answer.status_code == 200
        assert len(answer.content) <= bound
        doc = json.loads(answer.content)
        assert len(doc["features"]) == len(report.areas) and doc["truncated"] is False
        assert doc["simplified_m"] > 10.0  # the default tolerance did not fit: doubled until it did
        assert all(vertices(f["geometry"]) >= 4 for f in doc["features"])  # simplified, none vanished
    async with serving(app(geo_pool, public_areas_max_areas=3), "http://geo") as client:
        few = (await client.get(PATH, params={"jurisdiction_id": city})).json()
        assert len(few["features"]) == 3 and few["truncated"] is True
        assert [f["id"] for f in few["features"]] == sorted(a.area_id for a in report.areas)[:3]
