"""The public geocode route on geo's real app: the gazetteer on the real PostGIS, the jurisdiction's boundary as a
service area; only places inside it, at most five, address, point and confidence only, and its own rate limit."""

from __future__ import annotations

from uuid import uuid4

import pytest
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.entrypoints.http import create_app
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.settings import Environment
from civicloop_testing.asgi import serving
from civicloop_testing.staff_tokens import verifier_for_tests
from geo_area_loading import area_event, define_all

pytestmark = pytest.mark.integration

LAT0, LONG0 = 34.0, -118.0
BOUNDARY = {
    "type": "Polygon",
    "coordinates": [
        [
            [LONG0 - 0.01, LAT0 - 0.01],
            [LONG0 + 0.01, LAT0 - 0.01],
            [LONG0 + 0.01, LAT0 + 0.01],
            [LONG0 - 0.01, LAT0 + 0.01],
            [LONG0 - 0.01, LAT0 - 0.01],
        ]
    ],
}


def record(text: str, lat: float, long: float) -> AddressRecord:
    parsed = parse_address(text)
    assert parsed is not None, text
    return AddressRecord(parsed, lat, long)


@pytest.fixture
async def town(geo_pool) -> str:
    jurisdiction = f"pg-{uuid4().hex[:8]}"
    records = [
        record(f"{n} Main St, 90001", LAT0 + n * 1e-5, LONG0 + 1e-4) for n in (101, 111, 121, 131, 141, 151)
    ]
    records.append(record("12 Far Rd, 90009", LAT0 + 0.5, LONG0 + 0.5))  # outside the boundary
    await load_address_points(geo_pool, jurisdiction, records, source="town")
    await define_all(geo_pool, [area_event(jurisdiction, "town", "Town", "boundary", BOUNDARY)])
    return jurisdiction


def app(geo_pool, fresh_topics, kafka_bootstrap, **overrides):
    settings = GeoSettings(
        env=Environment.test,
        pg_dsn="postgresql://unused",
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=fresh_topics.prefix,
        **overrides,
    )
    return create_app(settings, staff_verifier=verifier_for_tests(), pool=geo_pool, start_consumers=False)


async def test_anyone_finds_an_address_inside_the_jurisdiction_and_sees_only_its_place(
    town, geo_pool, fresh_topics, kafka_bootstrap
):
    async with serving(app(geo_pool, fresh_topics, kafka_bootstrap), "http://geo") as client:
        found = await client.get(
            "/api/v1/public/geocode", params={"jurisdiction_id": town, "q": "121 Main St"}
        )
        assert found.status_code == 200
        best = found.json()["results"][0]
        assert set(best) == {"address", "lat", "long", "confidence"}
        assert "121 MAIN ST" in best["address"].upper() and best["confidence"] == pytest.approx(1.0)
        assert best["lat"] == pytest.approx(LAT0 + 121e-5)
        many = await client.get("/api/v1/public/geocode", params={"jurisdiction_id": town, "q": "Main St"})
        assert many.status_code == 200 and 1 <= len(many.json()["results"]) <= 5
        far = await client.get("/api/v1/public/geocode", params={"jurisdiction_id": town, "q": "12 Far Rd"})
        assert far.status_code == 200 and far.json()["results"] == []  # known, but outside the jurisdiction


async def test_the_public_geocode_has_a_rate_limit_of_its_own(town, geo_pool, fresh_topics, kafka_bootstrap):
    limited = app(geo_pool, fresh_topics, kafka_bootstrap, public_geocode_rate_limit_per_client="2/minute")
    async with serving(limited, "http://geo") as client:
        params = {"jurisdiction_id": town, "q": "121 Main St"}
        answers = [(await client.get("/api/v1/public/geocode", params=params)).status_code for _ in range(3)]
        assert answers == [200, 200, 429]
        heatmap = await client.get("/api/v1/public/heatmap", params={"jurisdiction_id": town})
        assert heatmap.status_code == 200  # counted apart from the geocode's limit
