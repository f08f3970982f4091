"""Real Los Angeles 311 requests of 2017, imported as a back-end's history and then placed by geo today: the agent
view keeps each one's own times (nothing of 2017 is "new" in the queue or for `since`) and the agency it named."""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from civicloop_events import Actor, Event, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import ExternalReferenceAssigned, RequestImported, RequestStatus
from civicloop_testing import shared_dir
from civicloop_testing.events import request_event
from civicloop_testing.geo_events import geo_event, location_resolved, public_place_at
from projection_events import new_jurisdiction, new_number
from projection_harness import agent_caught_up, api_client, consumers_running

pytestmark = pytest.mark.integration

ROWS = 1000  # of the sample's requests that have a point
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BACKEND = Actor(kind="system", id="backend:la")


def la_rows(count: int) -> list[dict[str, str]]:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/data (the real LA 311 requests) is not beside this checkout")
    path = Path(shared) / "data" / "requests" / "la-311-2017-sample.csv"
    with path.open(newline="") as f:
        return [r for r in csv.DictReader(f) if r["Latitude"] and r["Longitude"]][:count]


def la_time(text: str) -> datetime | None:
    """`12/31/2017 11:59:58 PM`, Los Angeles time."""
    if not text:
        return None
    return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=LOS_ANGELES).astimezone(UTC)


def imported(row: dict[str, str], number: str, j: str, now: datetime) -> tuple[list[Event[Any]], datetime]:
    """What importing the row publishes, then geo placing it now; and the `updated_at` the view must show."""
    requested = la_time(row["CreatedDate"])
    assert requested is not None

    def backend(payload: Any, when: datetime) -> Event[Any]:
        return request_event(
            payload,
            request_id=number,
            jurisdiction_id=j,
            actor=BACKEND,
            source="backend:la",
            occurred_at=when,
        )

    lat, long = float(row["Latitude"]), float(row["Longitude"])
    events = [
        backend(
            RequestImported(
                body_id="la",
                external_id=row["SRNumber"],
                backend_service_code=row["RequestType"],
                agency_responsible=row["Owner"] or None,
            ),
            requested,
        ),
        backend(
            ServiceRequestSubmitted(
                service_code=re.sub(r"\W+", "-", row["RequestType"].lower()),
                description=row["RequestType"],
                location=Location(lat=lat, long=long, address_string=row["Address"] or None),
            ),
            requested,
        ),
        backend(ExternalReferenceAssigned(body_id="la", external_id=row["SRNumber"]), requested),
    ]
    expected = requested
    closed = la_time(row["UpdatedDate"]) if row["Status"] == "Closed" else None
    if closed is not None:
        events.append(backend(StatusChanged(status=RequestStatus.closed, public_note="Closed"), closed))
        expected = max(expected, closed)
    place = public_place_at(lat, long, None)
    events.append(
        geo_event(
            location_resolved(lat, long, row["Address"] or None, public=place),
            request_id=number,
            jurisdiction_id=j,
            occurred_at=now,
        )
    )
    return events, expected


async def test_imported_la_requests_keep_their_own_times_and_agencies(projections, request_producer):
    rows = la_rows(ROWS)
    j, now = new_jurisdiction(), datetime.now(UTC)
    expected: dict[str, datetime] = {}
    agencies: dict[str, str] = {}
    events: list[Event[Any]] = []
    for row in rows:
        number = new_number()
        mine, expected[number] = imported(row, number, j, now)
        agencies[number] = row["Owner"]
        events += mine
    positions = [await request_producer.publish(e) for e in events]
    async with consumers_running(projections):
        await agent_caught_up(projections, positions)
    async with projections.pool.connection() as conn:
        cur = await conn.execute(
            "select request_number, updated_at, agency_responsible, body_id from projections.agent_requests"
            " where jurisdiction_id = %s",
            (j,),
        )
        stored = {n: (updated, agency, body) for n, updated, agency, body in await cur.fetchall()}
    assert len(stored) == len(rows)
    assert {n: updated for n, (updated, _, _) in stored.items()} == expected
    assert Counter(agency for _, agency, _ in stored.values()) == Counter(agencies.values())
    assert {body for _, _, body in stored.values()} == {"la"}

    async with api_client(projections.settings, jurisdiction_id=j, run_consumer=False) as client:
        r = await client.get(
            "/api/v1/agent/requests",
            params={"jurisdiction_id": j, "since": (now - timedelta(days=1)).isoformat(), "limit": 500},
        )
        assert r.status_code == 200 and r.json()["items"] == []  # geo placed them all today: none is new
        r = await client.get("/api/v1/agent/requests", params={"jurisdiction_id": j, "limit": 20})
        newest = sorted(expected, key=lambda n: (-expected[n].timestamp(), n))[:20]
        assert [i["request_number"] for i in r.json()["items"]] == newest
