"""A partner's Open311 POST reaches the agent read model, credited to the partner; an agent's status change reaches
the partner through `GET requests/{id}` and `servicerequestupdates`. Gateway and projections run as their real ASGI
apps in this process, wired only through the real broker, each with its own schema in the real PostGIS."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_events import Actor, Event, ServiceDefined, StatusChanged
from civicloop_events.payloads import PartnerAuthorised
from civicloop_events.producer import EventProducer
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_projections.entrypoints.http import MIGRATIONS as PROJECTION_MIGRATIONS
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_projections.settings import SCHEMA as PROJECTION_SCHEMA
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime import migrations

pytestmark = pytest.mark.integration


async def test_open311_submission_is_credited_to_the_partner_and_hears_status_changes(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    common = {
        "pg_dsn": fresh_database_dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": fresh_topics.prefix,
        "topic_partitions": fresh_topics.partitions,
    }
    gateway_settings = GatewaySettings(env="test", default_jurisdiction_id="demo", **common)
    projection_settings = ProjectionSettings(**common)
    migrate_gateway(gateway_settings.sqlalchemy_url)
    migrations.upgrade(projection_settings.sqlalchemy_url, PROJECTION_MIGRATIONS, PROJECTION_SCHEMA)

    key = f"o311_e2etest_{secrets.token_urlsafe(32)}"
    config = EventProducer(kafka_bootstrap, fresh_topics.jurisdiction_config)
    await config.start()
    admin = Actor(kind="system", id="e2e")
    for payload in (
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        PartnerAuthorised(
            client_id="fixmystreet",
            name="FixMyStreet",
            key_id="e2etest",
            key_sha256=hashlib.sha256(key.encode()).hexdigest(),
        ),
    ):
        await config.publish(
            Event.create(payload, request_id=None, jurisdiction_id="demo", actor=admin, source="admin")
        )
    await config.stop()

    gateway_app, projections_app = create_gateway(gateway_settings), create_projections(projection_settings)
    async with (
        LifespanManager(gateway_app, startup_timeout=60) as g,
        LifespanManager(projections_app, startup_timeout=60) as p,
    ):
        open311 = httpx.AsyncClient(transport=httpx.ASGITransport(app=g.app), base_url="http://gw/open311/v2")
        agent = httpx.AsyncClient(transport=httpx.ASGITransport(app=p.app), base_url="http://projections")
        form = {
            "api_key": key,
            "service_code": "pothole",
            "lat": "34.0522",
            "long": "-118.2437",
            "description": "Pothole by the school",
            "email": "resident@example.org",
            "first_name": "Ana",
        }
        async with asyncio.timeout(30):  # the gateway learns its catalogue and partners from the log
            while (r := await open311.post("/requests.json", data=form)).status_code in (403, 404):
                await asyncio.sleep(0.1)
        assert r.status_code == 200, r.text
        number = r.json()[0]["service_request_id"]

        async with asyncio.timeout(15):
            while (view := await agent.get(f"/api/v1/agent/requests/{number}")).status_code != 200:
                await asyncio.sleep(0.1)
        assert view.json()["source"] == "open311:fixmystreet"
        assert view.json()["history"][0]["actor"] == {"kind": "partner", "id": "fixmystreet"}

        producer = EventProducer(kafka_bootstrap, fresh_topics.request_events)
        await producer.start()
        await producer.publish(
            Event.create(
                StatusChanged(status="closed", previous_status="open", public_note="Filled this morning"),
                request_id=number,
                jurisdiction_id="demo",
                actor=Actor(kind="agent", id="agent-9"),
                source="agent",
            )
        )
        await producer.stop()

        async with asyncio.timeout(15):
            while (await open311.get(f"/requests/{number}.json")).json()[0]["status"] != "closed":
                await asyncio.sleep(0.1)
        request = (await open311.get(f"/requests/{number}.json")).json()[0]
        assert request["status_notes"] == "Filled this morning"
        now = datetime.now(UTC)
        updates = (
            await open311.get(
                "/servicerequestupdates.json",
                params={
                    "start_date": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
                    "end_date": (now + timedelta(minutes=1)).isoformat(timespec="seconds"),
                },
            )
        ).json()
        mine = [u for u in updates if u["service_request_id"] == number]
        assert [(u["status"], u["description"]) for u in mine] == [("closed", "Filled this morning")]
        for text in ("resident@example.org", "Ana"):
            assert text not in (await open311.get(f"/requests/{number}.xml")).text
        await open311.aclose()
        await agent.aclose()
