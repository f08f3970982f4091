"""Reports a poster's link brought: the link source on the log, in the track view, and counted for admins (real
broker and database)."""

import pytest
from civicloop_events import ServiceRequestSubmitted, decode_event
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers

pytestmark = pytest.mark.integration

ADMIN = staff_headers(None, "admin")
LINK_BODY = {  # what the report form posts from /report?address=&lat=&lng=&source=poster-d3, as the link names it
    "service_code": "pothole",
    "description": "Deep hole by the bench",
    "address": "100 block of Elm St",
    "lat": 38.9101,
    "lng": -77.0147,
    "source": "poster-d3",
}


async def test_a_posters_reports_are_on_the_log_and_counted_by_source(intake):
    numbers = []
    for i, source in enumerate(["poster-d3", "poster-d3", "kiosk-library", "web"]):
        r = await intake.client.post(
            "/api/v1/requests", json={**LINK_BODY, "source": source}, headers={"Idempotency-Key": f"src-{i}"}
        )
        assert r.status_code == 201, r.text
        numbers.append(r.json()["request_number"])

    records = {decode_event(r.value).request_id: decode_event(r.value) for r in await intake.records()}
    first = records[numbers[0]]
    assert isinstance(first.payload, ServiceRequestSubmitted)
    assert first.source == "web" and first.payload.link_source == "poster-d3"
    assert (
        first.payload.location.address_string == "100 block of Elm St"
        and first.payload.location.long == -77.0147
    )
    assert records[numbers[3]].payload.link_source is None

    async def all_counted():
        r = await intake.client.get("/api/v1/admin/report-sources", headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json() if sum(s["reports"] for s in r.json()["sources"]) == 3 else None

    answer = await eventually(all_counted, timeout=20, what="the track view to fold the three linked reports")
    assert [(s["source"], s["reports"]) for s in answer["sources"]] == [
        ("poster-d3", 2),
        ("kiosk-library", 1),
    ]
    assert answer["jurisdiction_id"] == "demo"
    later = await intake.client.get(
        "/api/v1/admin/report-sources", params={"since": "2999-01-01T00:00:00Z"}, headers=ADMIN
    )
    assert later.json()["sources"] == []
    other = await intake.client.get(
        "/api/v1/admin/report-sources", headers=staff_headers(None, "admin", jurisdiction_id="elsewhere")
    )
    assert other.json()["sources"] == []


async def test_a_retry_of_a_body_without_a_link_matches_as_before(intake):
    body = {k: v for k, v in LINK_BODY.items() if k != "source"}
    first = await intake.client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "plain-1"})
    again = await intake.client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "plain-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["request_number"] == again.json()["request_number"]
