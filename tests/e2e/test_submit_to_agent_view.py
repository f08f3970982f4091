"""End to end through the real broker and PostGIS: a resident's POST to intake reaches the agent read model.

Both services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import httpx
import pytest
from civicloop_events import ServiceAreaDefined, ServiceDefined, StatusChanged
from civicloop_events.payloads import ServiceRequestSubmitted
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_runtime.telemetry import configure_tracing
from civicloop_testing import read_all_records
from civicloop_testing.events import agent_event, publish_events
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_intake, migrated_projections, publish_configuration, serving
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

pytestmark = pytest.mark.integration

RESIDENT = {"name": "Maria Quintero", "email": "maria.quintero@example.org", "phone": "+1 213 555 0147"}
WARD = {
    "type": "Polygon",
    "coordinates": [
        [[-118.30, 34.00], [-118.20, 34.00], [-118.20, 34.10], [-118.30, 34.10], [-118.30, 34.00]]
    ],
}


async def test_a_post_to_intake_appears_in_the_agent_view_with_history_and_one_trace(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    exporter = InMemorySpanExporter()
    configure_tracing("civicloop-e2e", extra_processor=SimpleSpanProcessor(exporter))
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        ServiceAreaDefined(area_id="ward-7", name="Ward 7", kind="ward", geometry=WARD),
    )

    intake_app, projections_app = (
        create_intake(intake_settings),
        create_projections(projection_settings, staff_verifier=verifier_for_tests()),
    )
    async with serving((intake_app, "http://intake"), (projections_app, "http://projections")) as (
        intake,
        agent,
    ):
        agent.headers.update(staff_headers())  # the agent read API admits staff only
        body = {
            "service_code": "pothole",
            "description": "Deep pothole in the bus lane",
            "lat": 34.0522,
            "long": -118.2437,
            "contact": RESIDENT,
            "preferred_channel": "sms",
        }

        # the projection learns the service areas from the log, on its own consumer: wait for it, bounded
        async def areas_known() -> bool:
            return "ward-7" in (await agent.get("/api/v1/agent/service-areas")).text

        await eventually(areas_known, timeout=30, what="the projection to learn the areas", interval=0.1)

        # intake learns the catalogue from the log; until then the code is unknown (422)
        async def catalogued() -> httpx.Response | None:
            r = await intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "e2e-1"})
            return None if r.status_code == 422 else r

        r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
        assert r.status_code == 201, r.text
        number, position = r.json()["request_number"], r.headers["CivicLoop-Position"]

        view = await agent.get(f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": position})
        assert view.status_code == 200, view.text
        assert view.headers["CivicLoop-Position-Applied"] == "true"
        request = view.json()
        assert (request["status"], request["service_code"], request["service_area_id"]) == (
            "open",
            "pothole",
            "ward-7",
        )
        assert request["location"] == {"lat": 34.0522, "long": -118.2437}
        assert [h["type"] for h in request["history"]] == [ServiceRequestSubmitted.event_type]

        # an agent's status change flows to the same view and to the resident's track page
        [changed] = await publish_events(
            kafka_bootstrap,
            fresh_topics.request_events,
            [
                agent_event(
                    StatusChanged(
                        status="in_progress", previous_status="open", public_note="Crew on the way"
                    ),
                    request_id=number,
                )
            ],
        )
        view = await agent.get(
            f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": changed.token()}
        )
        assert view.json()["status"] == "in_progress"
        assert [h["type"] for h in view.json()["history"]] == [
            ServiceRequestSubmitted.event_type,
            "request.status.changed",
        ]
        track = await intake.post(
            "/api/v1/track",
            json={"number": number.lower(), "phone": "(213) 555-0147"},
            headers={"CivicLoop-Position": changed.token()},
        )
        assert track.status_code == 200 and track.json()["status"] == "in_progress"

        # personal data: not on the log, not in the agent view
        records = await read_all_records(
            kafka_bootstrap, fresh_topics.request_events, fresh_topics.partitions
        )
        raw = b"".join(record.value for record in records)
        for clear in ("Maria", "Quintero", "maria.quintero@example.org", "2135550147", "555 0147"):
            assert clear.encode() not in raw
            assert clear not in view.text

    # one trace from the HTTP request to the broker; the projection's batch span links to it
    spans = exporter.get_finished_spans()
    publish = next(
        s
        for s in spans
        if s.name == f"publish {ServiceRequestSubmitted.event_type}"
        and s.attributes.get("civicloop.request_id") == number
    )
    # The agent view folds a batch at a time: its span links to the trace of each event it applied.
    applied = [
        s
        for s in spans
        if s.name == "apply batch"
        and any(link.context.trace_id == publish.context.trace_id for link in s.links)
    ]
    assert publish.parent is not None, "the producer span hangs under intake's HTTP span"
    assert {s.attributes["messaging.consumer.group.name"] for s in applied} >= {
        projection_settings.agent_consumer_name
    }
