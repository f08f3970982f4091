"""Agents merge duplicates through intake's API, on the real broker and PostgreSQL; the resident follows the original."""

import asyncio
import uuid

import pytest
from civicloop_events import CommentAdded, StatusChanged, decode_event
from civicloop_events.payloads import AreaRef, CommentVisibility, MergedAsDuplicate, RequestStatus
from civicloop_testing.geo_events import location_resolved, public_place_at
from civicloop_testing.staff_tokens import staff_headers

pytestmark = pytest.mark.integration

AGENT_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000a042")
AGENT = staff_headers(AGENT_ID)  # a verified staff token (the `CivicLoop-Agent` header is gone)


async def submit(intake, description: str, phone: str) -> str:
    return await intake.submit(
        description, address="1 Main St", contact={"name": "Someone Private", "phone": phone}
    )


async def merge(intake, number: str, original: str, note: str = ""):
    return await intake.client.post(
        f"/api/v1/agent/requests/{number}/merge", json={"original": original, "note": note}, headers=AGENT
    )


async def track(intake, number: str, phone: str, position: str | None = None):
    headers = {"CivicLoop-Position": position} if position else {}
    r = await intake.client.post("/api/v1/track", json={"number": number, "phone": phone}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_merged_residents_track_follows_the_original_without_its_personal_data(intake):
    original = await submit(intake, "Original: outside Ana Lopez's house", "(202) 555-0101")
    duplicate = await submit(intake, "Same hole", "(202) 555-0102")

    r = await merge(intake, duplicate, original, note="same hole, agent's own words")
    assert r.status_code == 201, r.text
    assert r.json()["merged_into"] == original and r.json()["request_number"] == duplicate
    merged_at = r.headers["CivicLoop-Position"]
    [record] = [
        rec
        for rec in await intake.records()
        if rec.key == duplicate.encode() and decode_event(rec.value).type == MergedAsDuplicate.event_type
    ]
    event = decode_event(record.value)
    assert f"{record.partition}:{record.offset}" == merged_at
    assert (event.actor.kind.value, event.actor.id, event.source) == ("agent", str(AGENT_ID), "agent")
    assert event.payload.original_request_id == original

    body = await track(intake, duplicate, "2025550102", merged_at)
    assert body["merged_into"] == original
    assert [(h["kind"], h["text"]) for h in body["history"]] == [
        ("merged", f"Merged into {original}, the same problem reported earlier")
    ]
    assert body["original"]["request_number"] == original and body["original"]["status"] == "open"

    await intake.publish(
        CommentAdded(text="Crew booked for Tuesday", visibility=CommentVisibility.public), request_id=original
    )
    closed = await intake.publish(
        StatusChanged(status=RequestStatus.closed, previous_status=RequestStatus.open, public_note="Filled"),
        request_id=original,
    )
    r = await intake.client.post(
        "/api/v1/track",
        json={"number": duplicate, "phone": "2025550102"},
        headers={"CivicLoop-Position": closed.token()},
    )
    body = r.json()
    assert body["status"] == "closed" and body["original"]["status"] == "closed"
    assert [(h["kind"], h["status"], h["note"], h["text"]) for h in body["original"]["history"]] == [
        ("comment", None, None, "Crew booked for Tuesday"),
        ("status", "closed", "Filled", None),
    ]
    assert body["description"] == "Same hole"
    for private in (
        "Ana Lopez",
        "Original: outside",
        "Someone Private",
        "555-0101",
        "5550101",
        "agent's own words",
    ):
        assert private not in r.text
    # the original's resident sees no trace of the duplicate
    assert duplicate not in (await track(intake, original, "2025550101"))["history"].__repr__()


async def test_merging_into_a_merged_request_lands_on_its_root_and_cycles_and_repeats_are_refused(intake):
    a, b, c = [await submit(intake, f"hole {i}", "(202) 555-0103") for i in range(3)]
    assert (await merge(intake, b, c)).status_code == 201
    r = await merge(intake, a, b)  # b follows c: a lands on c, before the view even folded b's merge
    assert (r.status_code, r.json()["merged_into"], r.json()["requested_original"]) == (201, c, b)
    cycle = await merge(intake, c, a)
    assert (cycle.status_code, cycle.json()["error"]) == (409, "merge_cycle")
    elsewhere = await merge(intake, a, c)  # a is merged into c already, though it asked for b
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (409, "already_merged")
    repeat = await merge(intake, a, b)
    assert (repeat.status_code, repeat.json()) == (200, r.json())
    merges = [
        decode_event(rec.value)
        for rec in await intake.records()
        if decode_event(rec.value).type == MergedAsDuplicate.event_type
    ]
    assert sorted((e.request_id, e.payload.original_request_id) for e in merges) == sorted([(b, c), (a, c)])


async def test_concurrent_opposite_merges_leave_one_merge_on_the_log(intake):
    a, b = [await submit(intake, f"pair {i}", "(202) 555-0104") for i in range(2)]
    answers = await asyncio.gather(merge(intake, a, b), merge(intake, b, a))
    assert sorted(r.status_code for r in answers) == [201, 409]


async def test_unknown_and_malformed_numbers(intake):
    known = await submit(intake, "hole", "(202) 555-0105")
    unknown = await merge(intake, "ZZZZ-ZZZZ", known)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    r = await merge(intake, known, "ZZZZ-ZZZZ")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "original"]
    r = await merge(intake, known, "not-a-number!")
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "invalid_request_number"


async def test_the_resident_sees_geos_block_level_address_and_area_names(intake):
    number = await submit(intake, "hole", "(202) 555-0106")
    placed = await intake.publish(
        location_resolved(
            38.8977,
            -77.0365,
            "1600 Pennsylvania Ave NW",
            confidence=0.97,
            areas=[AreaRef(area_id="ward-2", kind="ward", name="Ward 2", version=3)],
            public=public_place_at(
                38.8975, -77.0368, "1600 block of PENNSYLVANIA AVE NW", h3_cell="892a1072b5bffff"
            ),
        ),
        request_id=number,
    )
    body = await track(intake, number, "2025550106", placed.token())
    assert body["address"] == "1600 block of PENNSYLVANIA AVE NW"
    assert body["service_areas"] == [{"kind": "ward", "name": "Ward 2"}]
    assert "1600 Pennsylvania Ave NW" not in str(body) and "38.8977" not in str(body)
