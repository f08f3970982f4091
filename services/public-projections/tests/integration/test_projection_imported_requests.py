"""Imported requests through the real broker into the agents' API: their body, agency, flag and own times, and
the lookup by a back-end's id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import Actor, Event, Location, ServiceRequestSubmitted
from civicloop_events.payloads import (
    BackendUpdateReceived,
    ExternalReferenceAssigned,
    RequestImported,
)
from civicloop_projections.adapters.agent_views import find_by_external_id
from civicloop_testing.events import request_event
from civicloop_testing.geo_events import geo_event, location_resolved, public_place_at
from civicloop_testing.polling import eventually
from projection_events import new_jurisdiction, new_number, outbound, submitted
from projection_harness import agent_caught_up, api_client, consumers_running, numbers_of, query_plan

pytestmark = pytest.mark.integration

REQUESTED = datetime(2015, 6, 1, 8, 0, tzinfo=UTC)  # a years-old request, still open at the back-end
LATER = REQUESTED + timedelta(days=40)
FLAG = "at or near 0,0: the point is not used"


def backend(number: str, j: str, payload, when: datetime) -> Event:
    return request_event(
        payload,
        request_id=number,
        jurisdiction_id=j,
        actor=Actor(kind="system", id="backend:streets"),
        source="backend:streets",
        occurred_at=when,
    )


def imported(number: str, j: str, external_id: str, *, agency: str | None, flag: str | None = None) -> list:
    """What `open311 import` publishes for one back-end row."""
    return [
        backend(
            number,
            j,
            RequestImported(
                body_id="streets",
                external_id=external_id,
                backend_service_code="171",
                agency_responsible=agency,
                location_flag=flag,
            ),
            REQUESTED,
        ),
        backend(
            number,
            j,
            ServiceRequestSubmitted(
                service_code="graffiti",
                description="tags on the wall",
                location=Location(address_string="Mannerheimintie 1"),
            ),
            REQUESTED,
        ),
        backend(number, j, ExternalReferenceAssigned(body_id="streets", external_id=external_id), REQUESTED),
    ]


async def test_imported_requests_keep_their_own_times_body_agency_and_flag(settings, request_producer):
    j = new_jurisdiction()
    old, renamed, native = new_number(), new_number(), new_number()
    now = datetime.now(UTC)
    events = [
        *imported(old, j, "SR-100", agency="Rakennusvirasto", flag=FLAG),
        # geo places it when it reads it, i.e. now: that must not make it new.
        geo_event(
            location_resolved(60.17, 24.94, "Mannerheimintie 1", public=public_place_at(60.17, 24.94)),
            request_id=old,
            jurisdiction_id=j,
            occurred_at=now,
        ),
        *imported(renamed, j, "SR-200", agency=None),
        backend(
            renamed,
            j,
            BackendUpdateReceived(
                body_id="streets",
                external_id="SR-200",
                update_id="SR-200-1",
                backend_status="open",
                description="moved to the parks team",
                updated_at=LATER,
                agency_responsible="Kaupunkiympäristö",
            ),
            LATER,
        ),
        submitted(native, j),  # at(0): 2026-03-01, after both imports' times
    ]
    async with api_client(settings, jurisdiction_id=j) as client:
        for e in events:
            await request_producer.publish(e)

        async def all_applied() -> bool:
            counts = {
                item["request_number"]: item["event_count"]
                for item in (
                    await client.get("/api/v1/agent/requests", params={"jurisdiction_id": j})
                ).json()["items"]
            }
            return counts == {old: 3, renamed: 3, native: 1}

        await eventually(all_applied, what="the requests' events")

        body = (await client.get(f"/api/v1/agent/requests/{old}")).json()
        assert (body["body_id"], body["imported_from"]) == (
            "streets",
            {"body_id": "streets", "external_id": "SR-100"},
        )
        assert body["external_references"] == [{"body_id": "streets", "external_id": "SR-100"}]
        assert (body["agency_responsible"], body["location_flag"]) == ("Rakennusvirasto", FLAG)
        assert body["submitted_at"] == body["updated_at"] == "2015-06-01T08:00:00Z"
        assert body["placement"]["resolved_at"] is not None and body["delivery"] is None

        body = (await client.get(f"/api/v1/agent/requests/{renamed}")).json()
        assert (body["agency_responsible"], body["location_flag"]) == ("Kaupunkiympäristö", None)
        assert body["updated_at"] == "2015-07-11T08:00:00Z"  # the back-end's update time

        # The queue: the native request first, the imports by their own times; `since` finds no old one.
        r = await client.get("/api/v1/agent/requests", params={"jurisdiction_id": j})
        assert [i["request_number"] for i in r.json()["items"]] == [native, renamed, old]
        assert await numbers_of(client, jurisdiction_id=j, since="2020-01-01T00:00:00Z") == [native]
        assert await numbers_of(client, jurisdiction_id=j, body_id="streets") == sorted([old, renamed])

        # The lookup by the back-end's id.
        r = await client.get(
            "/api/v1/agent/requests/by-external-id", params={"body_id": "streets", "external_id": "SR-200"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["request_number"] == renamed
        assert [h["type"] for h in r.json()["history"]][:2] == [
            RequestImported.event_type,
            ServiceRequestSubmitted.event_type,
        ]
        r = await client.get(
            "/api/v1/agent/requests/by-external-id", params={"body_id": "parks", "external_id": "SR-200"}
        )
        assert r.status_code == 404
        r = await client.get("/api/v1/agent/requests/by-external-id", params={"body_id": "streets"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "external_id"]


async def test_the_lookup_by_external_id_is_served_by_its_index(migrated_dsn):
    plan = await query_plan(
        migrated_dsn,
        "select request_number from projections.agent_requests where external_references @> %s::jsonb",
        ('[{"body_id": "streets", "external_id": "SR-1"}]',),
    )
    assert "agent_requests_external_references" in plan, plan


async def test_the_lookup_reads_what_a_sent_request_was_given(settings, request_producer, projections):
    """A request sent to a body is found by the id the back-end gave it, as an imported one is."""
    j, number = new_jurisdiction(), new_number()
    positions = [
        await request_producer.publish(e)
        for e in (
            submitted(number, j),
            outbound(
                number, j, ExternalReferenceAssigned(body_id="roads", external_id="R/2026/7"), minutes=2
            ),
        )
    ]
    async with consumers_running(projections):
        await agent_caught_up(projections, positions)
    async with projections.pool.connection() as conn:
        found = await find_by_external_id(conn, "roads", "R/2026/7", jurisdiction_id=j)
    assert found is not None and found["request_number"] == number
