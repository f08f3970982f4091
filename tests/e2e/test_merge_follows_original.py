"""End to end through the real broker and PostGIS: an agent merges a duplicate in intake, the original is closed, and
both the agent view (public-projections) and the duplicate's resident (intake's track) see the original's closure.

Both services run in this process as their real ASGI apps (lifespans, consumers, pools), wired only through Kafka.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_events import Actor, Event, ServiceDefined, StatusChanged
from civicloop_events.producer import EventProducer
from civicloop_intake import database as intake_database
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_projections.entrypoints.http import MIGRATIONS as PROJECTION_MIGRATIONS
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_projections.settings import SCHEMA as PROJECTION_SCHEMA
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime import migrations

pytestmark = pytest.mark.integration


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
    await config.publish(
        Event.create(
            ServiceDefined(service_code="pothole", service_name="Pothole"),
            request_id=None,
            jurisdiction_id="demo",
            actor=Actor(kind="system", id="e2e"),
            source="admin",
        )
    )
    await config.stop()

    intake_app, projections_app = create_intake(intake_settings), create_projections(projection_settings)
    async with (
        LifespanManager(intake_app, startup_timeout=60) as i,
        LifespanManager(projections_app, startup_timeout=60) as p,
    ):
        intake = httpx.AsyncClient(transport=httpx.ASGITransport(app=i.app), base_url="http://intake")
        agent = httpx.AsyncClient(transport=httpx.ASGITransport(app=p.app), base_url="http://projections")

        # intake learns the catalogue from the log; until then the code is unknown (422)
        async with asyncio.timeout(30):
            while (
                r := await intake.post(
                    "/api/v1/requests",
                    json=report("the first report", "(213) 555-0101"),
                    headers={"Idempotency-Key": "e2e-merge-1"},
                )
            ).status_code == 422:
                await asyncio.sleep(0.1)
        assert r.status_code == 201, r.text
        original = r.json()["request_number"]
        r = await intake.post("/api/v1/requests", json=report("the same hole again", "(213) 555-0102"))
        assert r.status_code == 201, r.text
        duplicate = r.json()["request_number"]

        merge = await intake.post(
            f"/api/v1/agent/requests/{duplicate}/merge",
            json={"original": original, "note": "agents-only remark"},
            headers={"CivicLoop-Agent": "agent-3"},
        )
        assert merge.status_code == 201, merge.text
        assert merge.json()["merged_into"] == original

        producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
        await producer.start()
        closed = await producer.publish(
            Event.create(
                StatusChanged(status="closed", previous_status="open", public_note="Filled and sealed"),
                request_id=original,
                jurisdiction_id="demo",
                actor=Actor(kind="agent", id="agent-3"),
                source="agent",
            )
        )
        await producer.stop()

        # The agent view: the duplicate names its original, the original is closed and lists its duplicate.
        view = await agent.get(
            f"/api/v1/agent/requests/{duplicate}",
            headers={"CivicLoop-Position": merge.headers["CivicLoop-Position"]},
        )
        assert view.status_code == 200 and view.headers["CivicLoop-Position-Applied"] == "true"
        assert (view.json()["merged_into"], view.json()["merge_note"]) == (original, "agents-only remark")
        assert view.json()["history"][-1]["actor"] == {"kind": "agent", "id": "agent-3"}
        view = await agent.get(
            f"/api/v1/agent/requests/{original}", headers={"CivicLoop-Position": closed.token()}
        )
        assert view.headers["CivicLoop-Position-Applied"] == "true"
        assert (view.json()["status"], view.json()["merged_duplicates"]) == ("closed", [duplicate])
        queue = await agent.get("/api/v1/agent/requests", params={"merged": "false"})
        numbers = [item["request_number"] for item in queue.json()["items"]]
        assert original in numbers and duplicate not in numbers

        # The duplicate's resident: their own number and phone show the original's closure, nothing of its resident.
        track = await intake.get(
            "/api/v1/track",
            params={"number": duplicate, "phone": "213-555-0102"},
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
        await intake.aclose()
        await agent.aclose()
