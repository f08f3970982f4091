"""End to end through the real broker and PostGIS: an agent merges a duplicate in intake, the original is closed, and
both the agent view (public-projections) and the duplicate's resident (intake's track) see the original's closure.

Both services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from civicloop_events import ServiceDefined, StatusChanged
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_testing.events import agent_event, publish_events
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_intake, migrated_projections, publish_configuration, serving

pytestmark = pytest.mark.integration

AGENT_3 = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000a003")


def report(description: str, phone: str) -> dict:
    return {
        "service_code": "pothole",
        "description": description,
        "lat": 34.0522,
        "long": -118.2437,
        "contact": {"name": "Resident of " + description, "phone": phone},
    }


async def test_a_merged_request_follows_its_original_to_closure(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap, fresh_topics, ServiceDefined(service_code="pothole", service_name="Pothole")
    )

    intake_app, projections_app = (
        create_intake(intake_settings, staff_verifier=verifier_for_tests()),
        create_projections(projection_settings, staff_verifier=verifier_for_tests()),
    )
    async with serving((intake_app, "http://intake"), (projections_app, "http://projections")) as (
        intake,
        agent,
    ):
        agent.headers.update(staff_headers())  # the agent read API admits staff only

        # intake learns the catalogue from the log; until then the code is unknown (422)
        async def catalogued() -> httpx.Response | None:
            r = await intake.post(
                "/api/v1/requests",
                json=report("the first report", "(213) 555-0101"),
                headers={"Idempotency-Key": "e2e-merge-1"},
            )
            return None if r.status_code == 422 else r

        r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
        assert r.status_code == 201, r.text
        original = r.json()["request_number"]
        r = await intake.post("/api/v1/requests", json=report("the same hole again", "(213) 555-0102"))
        assert r.status_code == 201, r.text
        duplicate = r.json()["request_number"]

        merge = await intake.post(
            f"/api/v1/agent/requests/{duplicate}/merge",
            json={"original": original, "note": "agents-only remark"},
            headers=staff_headers(AGENT_3),  # a verified staff token: its staff id is the actor
        )
        assert merge.status_code == 201, merge.text
        assert merge.json()["merged_into"] == original

        [closed] = await publish_events(
            kafka_bootstrap,
            fresh_topics.request_events,
            [
                agent_event(
                    StatusChanged(status="closed", previous_status="open", public_note="Filled and sealed"),
                    request_id=original,
                )
            ],
        )

        # The agent view: the duplicate names its original, the original is closed and lists its duplicate.
        view = await agent.get(
            f"/api/v1/agent/requests/{duplicate}",
            headers={"CivicLoop-Position": merge.headers["CivicLoop-Position"]},
        )
        assert view.status_code == 200 and view.headers["CivicLoop-Position-Applied"] == "true"
        assert (view.json()["merged_into"], view.json()["merge_note"]) == (original, "agents-only remark")
        assert view.json()["history"][-1]["actor"] == {"kind": "agent", "id": str(AGENT_3)}
        view = await agent.get(
            f"/api/v1/agent/requests/{original}", headers={"CivicLoop-Position": closed.token()}
        )
        assert view.headers["CivicLoop-Position-Applied"] == "true"
        assert (view.json()["status"], view.json()["merged_duplicates"]) == ("closed", [duplicate])
        queue = await agent.get("/api/v1/agent/requests", params={"merged": "false"})
        numbers = [item["request_number"] for item in queue.json()["items"]]
        assert original in numbers and duplicate not in numbers

        # The duplicate's resident: their own number and phone show the original's closure, nothing of its resident.
        track = await intake.post(
            "/api/v1/track",
            json={"number": duplicate, "phone": "213-555-0102"},
            headers={"CivicLoop-Position": closed.token()},
        )
        assert track.status_code == 200, track.text
        body = track.json()
        assert (body["merged_into"], body["status"]) == (original, "closed")
        assert body["original"]["status"] == "closed"
        assert body["original"]["history"][-1]["note"] == "Filled and sealed"
        assert [h["kind"] for h in body["history"]] == ["merged"]
        for private in ("the first report", "5550101", "555-0101", "agents-only remark"):
            assert private not in track.text
