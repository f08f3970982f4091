"""A partner's Open311 POST reaches the agent read model, credited to the partner; an agent's status change reaches
the partner through `GET requests/{id}` and `servicerequestupdates`. Gateway and projections run as their real ASGI
apps in this process, wired only through the real broker, each with its own schema in the real PostGIS."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from civicloop_events import ServiceDefined, StatusChanged
from civicloop_events.payloads import PartnerAuthorised
from civicloop_gateway.database import migrate as migrate_gateway
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_testing.events import agent_event, publish_events
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from e2e_world import migrated_projections, publish_configuration, serving, shared_settings

pytestmark = pytest.mark.integration


async def test_open311_submission_is_credited_to_the_partner_and_hears_status_changes(
    fresh_database_dsn, fresh_topics, kafka_bootstrap
):
    common = shared_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    gateway_settings = GatewaySettings(env="test", default_jurisdiction_id="demo", **common)
    projection_settings = migrated_projections(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    migrate_gateway(gateway_settings.sqlalchemy_url)

    key = f"o311_e2etest_{secrets.token_urlsafe(32)}"
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        PartnerAuthorised(
            client_id="fixmystreet",
            name="FixMyStreet",
            key_id="e2etest",
            key_sha256=hashlib.sha256(key.encode()).hexdigest(),
        ),
    )

    gateway_app, projections_app = (
        create_gateway(gateway_settings),
        create_projections(projection_settings, staff_verifier=verifier_for_tests()),
    )
    async with serving((gateway_app, "http://gw/open311/v2"), (projections_app, "http://projections")) as (
        open311,
        agent,
    ):
        agent.headers.update(staff_headers())  # the agent read API admits staff only
        form = {
            "api_key": key,
            "service_code": "pothole",
            "lat": "34.0522",
            "long": "-118.2437",
            "description": "Pothole by the school",
            "email": "resident@example.org",
            "first_name": "Ana",
        }

        async def configured() -> (
            httpx.Response | None
        ):  # the gateway learns its catalogue and partners from the log
            r = await open311.post("/requests.json", data=form)
            return None if r.status_code in (403, 404) else r

        r = await eventually(
            configured, timeout=30, what="the gateway to learn its configuration", interval=0.1
        )
        assert r.status_code == 200, r.text
        number = r.json()[0]["service_request_id"]

        async def projected() -> httpx.Response | None:
            view = await agent.get(f"/api/v1/agent/requests/{number}")
            return view if view.status_code == 200 else None

        view = await eventually(projected, timeout=15, what=f"{number} in the agent view", interval=0.1)
        assert view.json()["source"] == "open311:fixmystreet"
        assert view.json()["history"][0]["actor"] == {"kind": "partner", "id": "fixmystreet"}

        status_change = StatusChanged(
            status="closed", previous_status="open", public_note="Filled this morning"
        )
        await publish_events(
            kafka_bootstrap,
            fresh_topics.request_events,
            [agent_event(status_change, request_id=number, agent="agent-9")],
        )

        async def closed() -> bool:
            return (await open311.get(f"/requests/{number}.json")).json()[0]["status"] == "closed"

        await eventually(closed, timeout=15, what=f"{number} closed in Open311", interval=0.1)
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
