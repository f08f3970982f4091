"""End to end through the real broker and PostGIS: a partner's Open311 request, an agent's status changes, and
what reaches the log.

The partner POSTs through Open311; the request is served by `GET requests/{id}`; an agent's `StatusChanged`
events, published to the request topic as the agent tools publish them, show in `GET requests/{id}` and in
`servicerequestupdates`; the raw Kafka record of the submission names the partner as its source and carries none of
the contact details the partner sent in clear.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_events import REGISTRY, Event, StatusChanged
from civicloop_events.payloads import RequestStatus, ServiceRequestSubmitted
from civicloop_events.topics import Topics
from civicloop_testing import read_all_records
from civicloop_testing.events import agent_event
from civicloop_testing.open311_catalogue import SPRINGFIELD, unique
from civicloop_testing.open311_reading import read
from civicloop_testing.polling import eventually
from conformance_harness import streetlight_fields
from conformance_wire import requests_of

pytestmark = pytest.mark.integration

CONTACT = {
    "email": "lisa.simpson@example.org",
    "phone": "+1 217 555 0187",
    "first_name": "Lisa",
    "last_name": "Simpsonova",
    "account_id": "acct-lisa-8",
    "device_id": "dev-lisa-sax",
}
CLEAR = (
    "lisa.simpson@example.org",
    "5550187",
    "555 0187",
    "Lisa",
    "Simpsonova",
    "acct-lisa-8",
    "dev-lisa-sax",
)


def w3c(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def raw_records_of(bootstrap: str, topics: Topics, key: str) -> list[bytes]:
    """Every record of the request topic with this key, as the bytes on the broker."""
    records = await read_all_records(bootstrap, topics.request_events, topics.partitions)
    return [r.value for r in records if r.key == key.encode()]


async def test_PR_09_partner_request_to_status_updates_end_to_end(gateway):
    """PR-09, R1-01, SR-02, SR-03, SR-10, SR-21, FX-01, ST-02, G-70: POST as the partner → GET requests/{id};
    agent StatusChanged (in progress, then closed) → GET requests/{id} and servicerequestupdates; the raw submission
    on Kafka has source `open311:<client_id>` and no contact detail in clear."""
    fmt = "xml"  # as FixMyStreet posts
    marker = unique("End-to-end streetlight")
    r = await gateway.submit(fmt, **streetlight_fields(description=marker, **CONTACT))
    assert r.status_code == 200, r.text
    number = requests_of(r, fmt)[0]["service_request_id"]

    async def current():
        r = await gateway.get(f"requests/{number}", "json", jurisdiction_id=SPRINGFIELD)
        return r.json()[0] if r.status_code == 200 else None

    request = await eventually(current, timeout=10, what=f"request {number}")
    assert (request["status"], request["description"]) == ("open", marker)

    since = datetime.now(UTC) - timedelta(seconds=5)

    def by_the_agent(status: RequestStatus, previous: RequestStatus, note: str) -> Event[Any]:
        change = StatusChanged(status=status, previous_status=previous, public_note=note)
        return agent_event(change, request_id=number, agent="agent-12", jurisdiction_id=SPRINGFIELD)

    await gateway.publish_request_event(
        by_the_agent(RequestStatus.in_progress, RequestStatus.open, "Crew 7 is on the way")
    )
    closed_event = by_the_agent(RequestStatus.closed, RequestStatus.in_progress, "Lamp replaced")
    await gateway.publish_request_event(closed_event)

    async def closed():
        now = await current()
        return now if now and now["status"] == "closed" else None

    request = await eventually(closed, timeout=15, what=f"{number} closed")
    assert request["status_notes"] == "Lamp replaced"
    updated = datetime.fromisoformat(request["updated_datetime"])
    assert updated == closed_event.occurred_at.replace(microsecond=0), (
        "closed: updated_datetime is the close time"
    )

    for out in ("xml", "json"):
        r = await gateway.get(
            "servicerequestupdates",
            out,
            jurisdiction_id=SPRINGFIELD,
            start_date=w3c(since),
            end_date=w3c(datetime.now(UTC) + timedelta(minutes=1)),
        )
        assert r.status_code == 200, r.text
        mine = [u for u in read(r, out, root="service_request_updates") if u["service_request_id"] == number]
        assert [(u["status"], u["description"]) for u in mine] == [
            ("in_progress", "Crew 7 is on the way"),
            ("closed", "Lamp replaced"),
        ], mine
        assert mine[1]["update_id"] == str(closed_event.event_id), "update_id is stable: the event's id"
        public = r.content.decode()
        for clear in CLEAR:
            assert clear not in public, f"{clear} in servicerequestupdates (SR-21)"

    for out in ("xml", "json"):
        r = await gateway.get(f"requests/{number}", out, jurisdiction_id=SPRINGFIELD, extensions="true")
        assert r.status_code == 200
        for clear in CLEAR:
            assert clear not in r.content.decode(), f"{clear} in the public request with extensions (SR-21)"

    raw = await raw_records_of(gateway.bootstrap, gateway.topics, number)
    # On the log under its current name or an earlier one (an alias in the registry).
    submitted = [
        json.loads(v)
        for v in raw
        if REGISTRY.canonical(json.loads(v)["type"]) == ServiceRequestSubmitted.event_type
    ]
    assert len(submitted) == 1, f"one submission on the log, got {len(submitted)}"
    envelope = submitted[0]
    assert envelope["source"] == f"open311:{gateway.partner.client_id}"
    assert envelope["actor"] == {"kind": "partner", "id": gateway.partner.client_id}
    assert envelope["jurisdiction_id"] == SPRINGFIELD and envelope["request_id"] == number
    assert envelope["payload"]["description"] == marker
    joined = b"".join(raw)
    for clear in CLEAR:
        assert clear.encode() not in joined, f"{clear} in clear on the log"
    assert envelope["payload"].get("contact"), "the contact travels, sealed"
