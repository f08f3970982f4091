"""End to end through the real broker and PostGIS: a resident's POST to intake reaches the agent read model.

Both services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_events import Actor, Event, ServiceAreaDefined, ServiceDefined, StatusChanged
from civicloop_events.payloads import ServiceRequestSubmitted
from civicloop_events.producer import EventProducer
from civicloop_events.topics import partition_extents
from civicloop_intake import database as intake_database
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_projections.entrypoints.http import MIGRATIONS as PROJECTION_MIGRATIONS
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_projections.settings import SCHEMA as PROJECTION_SCHEMA
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime import migrations
from civicloop_runtime.telemetry import configure_tracing
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


async def read_raw_values(bootstrap: str, topic: str) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer

    extents = await partition_extents(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(20):
            while len(values) < sum(end - start for start, end in extents.values()):
                batch = await consumer.getmany(timeout_ms=500)
                values += [m.value for ms in batch.values() for m in ms]
    finally:
        await consumer.stop()
    return values


async def test_a_post_to_intake_appears_in_the_agent_view_with_history_and_one_trace(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    exporter = InMemorySpanExporter()
    configure_tracing("civicloop-e2e", extra_processor=SimpleSpanProcessor(exporter))
    common = {
        "pg_dsn": fresh_database_dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": fresh_topics.prefix,
        "topic_partitions": fresh_topics.partitions,
    }
    intake_settings = IntakeSettings(env=Environment.test, **common)
    projection_settings = ProjectionSettings(**common)
    intake_database.migrate(intake_settings.sqlalchemy_url)
    migrations.upgrade(projection_settings.sqlalchemy_url, PROJECTION_MIGRATIONS, PROJECTION_SCHEMA)

    config = EventProducer(kafka_bootstrap, fresh_topics.jurisdiction_config)
    await config.start()
    admin = Actor(kind="system", id="e2e")
    for payload in (
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        ServiceAreaDefined(area_id="ward-7", name="Ward 7", kind="ward", geometry=WARD),
    ):
        await config.publish(
            Event.create(payload, request_id=None, jurisdiction_id="demo", actor=admin, source="admin")
        )
    await config.stop()

    intake_app, projections_app = create_intake(intake_settings), create_projections(projection_settings)
    async with (
        LifespanManager(intake_app, startup_timeout=60) as i,
        LifespanManager(projections_app, startup_timeout=60) as p,
    ):
        intake = httpx.AsyncClient(transport=httpx.ASGITransport(app=i.app), base_url="http://intake")
        agent = httpx.AsyncClient(transport=httpx.ASGITransport(app=p.app), base_url="http://projections")
        body = {
            "service_code": "pothole",
            "description": "Deep pothole in the bus lane",
            "lat": 34.0522,
            "long": -118.2437,
            "contact": RESIDENT,
            "preferred_channel": "sms",
        }

        # the projection learns the service areas from the log, on its own consumer: wait for it, bounded
        async with asyncio.timeout(30):
            while "ward-7" not in (await agent.get("/api/v1/agent/service-areas")).text:
                await asyncio.sleep(0.1)
        # intake learns the catalogue from the log; until then the code is unknown (422)
        async with asyncio.timeout(30):
            while (
                r := await intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "e2e-1"})
            ).status_code == 422:
                await asyncio.sleep(0.1)
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
        producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
        await producer.start()
        changed = await producer.publish(
            Event.create(
                StatusChanged(status="in_progress", previous_status="open", public_note="Crew on the way"),
                request_id=number,
                jurisdiction_id="demo",
                actor=Actor(kind="agent", id="agent-3"),
                source="agent",
            )
        )
        await producer.stop()
        view = await agent.get(
            f"/api/v1/agent/requests/{number}", headers={"CivicLoop-Position": changed.token()}
        )
        assert view.json()["status"] == "in_progress"
        assert [h["type"] for h in view.json()["history"]] == [
            ServiceRequestSubmitted.event_type,
            "request.status.changed",
        ]
        track = await intake.get(
            "/api/v1/track",
            params={"number": number.lower(), "phone": "(213) 555-0147"},
            headers={"CivicLoop-Position": changed.token()},
        )
        assert track.status_code == 200 and track.json()["status"] == "in_progress"

        # personal data: not on the log, not in the agent view
        raw = b"".join(await read_raw_values(kafka_bootstrap, fresh_topics.request_events))
        for clear in ("Maria", "Quintero", "maria.quintero@example.org", "2135550147", "555 0147"):
            assert clear.encode() not in raw
            assert clear not in view.text
        await intake.aclose()
        await agent.aclose()

    # one trace from the HTTP request through Kafka into the projection
    spans = exporter.get_finished_spans()
    publish = next(
        s
        for s in spans
        if s.name == f"publish {ServiceRequestSubmitted.event_type}"
        and s.attributes.get("civicloop.request_id") == number
    )
    applied = [
        s
        for s in spans
        if s.name == f"apply {ServiceRequestSubmitted.event_type}"
        and s.attributes.get("civicloop.request_id") == number
    ]
    assert publish.parent is not None, "the producer span hangs under intake's HTTP span"
    assert {s.context.trace_id for s in applied} == {publish.context.trace_id}
    assert {s.attributes["messaging.consumer.group.name"] for s in applied} >= {
        projection_settings.agent_consumer_name
    }
