"""End to end through the real broker and PostGIS: a resident reports by address, geo places it (gazetteer, service
area, public block), a second report nearby is a suspected duplicate, and a report geo cannot place is placed by an
agent through intake — all seen in the agent view (public-projections) and the resident's track (intake).

intake, geo and public-projections run in this process as their real ASGI apps (lifespans, consumers, pools),
wired only through Kafka.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from civicloop_events import ServiceAreaDefined, ServiceDefined
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.database import migrate as migrate_geo
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_runtime.db import open_pool
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import (
    migrated_intake,
    migrated_projections,
    publish_configuration,
    serving,
    shared_settings,
)

pytestmark = pytest.mark.integration

BELLEVUE = (34.073216645, -118.266861909)  # 2111 W BELLEVUE AVE, Los Angeles (a real MyLA311 address point)
WARD = {
    "type": "Polygon",
    "coordinates": [
        [[-118.30, 34.05], [-118.23, 34.05], [-118.23, 34.10], [-118.30, 34.10], [-118.30, 34.05]]
    ],
}


async def test_geo_places_flags_and_an_agent_corrects(fresh_database_dsn, fresh_topics, kafka_bootstrap):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    geo_settings = GeoSettings(
        **shared_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap), cluster_sweep_interval_s=3600
    )
    migrate_geo(geo_settings.sqlalchemy_url)

    pool = await open_pool(fresh_database_dsn, name="e2e-gazetteer")
    try:
        await load_address_points(
            pool,
            "demo",
            [
                AddressRecord(parse_address("2111 W BELLEVUE AVE, 90026"), *BELLEVUE),
                AddressRecord(parse_address("2125 W BELLEVUE AVE, 90026"), BELLEVUE[0], BELLEVUE[1] + 0.0003),
            ],
            source="e2e",
        )
    finally:
        await pool.close()
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole", group="roads"),
        ServiceAreaDefined(
            area_id="nc-44", name="Greater Echo Park Elysian", kind="neighborhood_council", geometry=WARD
        ),
    )

    apps = (
        create_intake(intake_settings, staff_verifier=verifier_for_tests()),
        create_geo(geo_settings, staff_verifier=verifier_for_tests()),
        create_projections(projection_settings, staff_verifier=verifier_for_tests()),
    )
    async with serving(
        (apps[0], "http://intake"), (apps[1], "http://geo"), (apps[2], "http://projections")
    ) as (intake, _, agent):
        agent.headers.update(staff_headers())  # the agent read API admits staff only

        async def submit(body: dict) -> str:
            async def accepted() -> httpx.Response | None:  # intake learns the catalogue from the log
                r = await intake.post("/api/v1/requests", json={"service_code": "pothole", **body})
                return r if r.status_code == 201 else None

            answer = await eventually(accepted, what="intake to accept", interval=0.2)
            return answer.json()["request_number"]

        async def agent_view(number: str, ready: Callable[[dict], bool], what: str) -> dict:
            async def probe() -> dict | None:
                r = await agent.get(f"/api/v1/agent/requests/{number}")
                return r.json() if r.status_code == 200 and ready(r.json()) else None

            return await eventually(probe, what=what, interval=0.2)

        by_address = await submit(
            {
                "description": "Deep hole",
                "address_string": "2111 w bellvue avenue",
                "contact": {"phone": "(213) 555-0144"},
            }
        )
        placed = await agent_view(
            by_address, lambda v: v["placement"] is not None, "geo to place the address"
        )
        assert placed["placement"]["method"] == "geocoded" and placed["placement"]["provider"] == "gazetteer"
        assert placed["placement"]["address"].startswith("2111 W BELLEVUE AVE")
        assert (placed["location"]["lat"], placed["location"]["long"]) == pytest.approx(BELLEVUE)
        assert placed["service_area_id"] == "nc-44" and placed["inside_jurisdiction"] is True

        track = await intake.post("/api/v1/track", json={"number": by_address, "phone": "(213) 555-0144"})
        assert track.status_code == 200, track.text
        assert track.json()["address"] == "2100 block of W BELLEVUE AVE, 90026"

        nearby = await submit({"description": "Same hole?", "lat": BELLEVUE[0] + 0.0002, "long": BELLEVUE[1]})
        suspected = await agent_view(nearby, lambda v: v["duplicate_suspected"], "geo to suspect a duplicate")
        assert [c["request_id"] for c in suspected["duplicate_candidates"]] == [by_address]

        vague = await submit({"description": "Somewhere", "address_string": "behind the old mill"})
        await agent_view(vague, lambda v: v["needs_placing"], "geo to give up on the address")
        fixed = await intake.post(
            f"/api/v1/agent/requests/{vague}/location",
            json={"lat": BELLEVUE[0], "long": BELLEVUE[1] + 0.001, "note": "called back"},
            headers=staff_headers(),  # a verified staff token (an agent of "demo")
        )
        assert fixed.status_code == 201, fixed.text
        corrected = await agent_view(
            vague,
            lambda v: v["placement"] is not None and not v["needs_placing"],
            "geo to place the agent's point",
        )
        assert corrected["placement"]["method"] == "corrected" and corrected["service_area_id"] == "nc-44"
        # Placed by hand near both earlier reports, it is checked for duplicates then (geo had never placed it).
        assert {c["request_id"] for c in corrected["duplicate_candidates"]} == {by_address, nearby}
