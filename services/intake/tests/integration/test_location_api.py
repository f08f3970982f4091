"""Agents place requests by hand through intake's API, on the real broker and PostgreSQL."""

import uuid

import pytest
from civicloop_events import decode_event
from civicloop_events.payloads import LocationCorrected
from civicloop_testing.staff_tokens import staff_headers

pytestmark = pytest.mark.integration

AGENT_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000a042")
AGENT = staff_headers(AGENT_ID)  # a verified staff token (the `CivicLoop-Agent` header is gone)
POINT = {
    "lat": 38.8977,
    "long": -77.0365,
    "address": "1600 Pennsylvania Ave NW",
    "note": "pin was in the river",
}


async def submit(intake, description: str) -> str:
    return await intake.submit(
        description, address="somewhere unfindable", contact={"phone": "(202) 555-0110"}
    )


async def correct(intake, number: str, body: dict, key: str | None = None):
    headers = {**AGENT, **({"Idempotency-Key": key} if key else {})}
    return await intake.client.post(f"/api/v1/agent/requests/{number}/location", json=body, headers=headers)


async def corrections_on_the_log(intake, number: str):
    return [
        (rec, decode_event(rec.value))
        for rec in await intake.records()
        if rec.key == number.encode() and decode_event(rec.value).type == LocationCorrected.event_type
    ]


async def test_a_correction_is_on_the_topic_at_the_answered_position_and_a_retry_adds_nothing(intake):
    number = await submit(intake, "hole geo could not place")
    r = await correct(intake, number, POINT, key="fix-1")
    assert r.status_code == 201, r.text
    assert r.json()["request_number"] == number and r.json()["address"] == "1600 Pennsylvania Ave NW"

    [(record, event)] = await corrections_on_the_log(intake, number)
    assert f"{record.partition}:{record.offset}" == r.headers["CivicLoop-Position"]
    assert r.json()["position"] == {"partition": record.partition, "offset": record.offset}
    assert (event.request_id, event.jurisdiction_id, event.source) == (number, "demo", "agent")
    assert (event.actor.kind.value, event.actor.id) == ("agent", str(AGENT_ID))
    assert event.payload == LocationCorrected(
        lat=38.8977, long=-77.0365, address="1600 Pennsylvania Ave NW", note="pin was in the river"
    )

    again = await correct(intake, number, POINT, key="fix-1")
    assert (again.status_code, again.json(), again.headers["CivicLoop-Position"]) == (
        200,
        r.json(),
        r.headers["CivicLoop-Position"],
    )
    reused = await correct(intake, number, {**POINT, "lat": 38.9}, key="fix-1")
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")
    assert len(await corrections_on_the_log(intake, number)) == 1

    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "select state, event_id from intake.location_corrections where idempotency_key = %s", ("fix-1",)
        )
        assert await cur.fetchone() == ("published", event.event_id)


async def test_an_agent_may_correct_again_each_correction_a_new_event_in_order(intake):
    number = await submit(intake, "hole placed twice")
    first = await correct(intake, number, {"lat": 38.90, "long": -77.03})
    second = await correct(intake, number, {"lat": 38.91, "long": -77.04, "note": "better"})
    assert (first.status_code, second.status_code) == (201, 201)
    events = [e for _, e in await corrections_on_the_log(intake, number)]
    assert [(e.payload.lat, e.payload.long, e.payload.address) for e in events] == [
        (38.90, -77.03, None),
        (38.91, -77.04, None),
    ]
    assert events[0].event_id != events[1].event_id


async def test_a_merged_duplicate_is_409_and_unknown_or_malformed_numbers_are_refused(intake):
    original, duplicate = await submit(intake, "original"), await submit(intake, "duplicate")
    merged = await intake.client.post(
        f"/api/v1/agent/requests/{duplicate}/merge", json={"original": original}, headers=AGENT
    )
    assert merged.status_code == 201, merged.text
    r = await correct(intake, duplicate, POINT)
    assert (r.status_code, r.json()["error"]) == (409, "merged") and original in r.json()["detail"]
    assert (await correct(intake, original, POINT)).status_code == 201

    unknown = await correct(intake, "ZZZZ-ZZZZ", POINT)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    malformed = await correct(intake, "not-a-number!", POINT)
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["path", "number"]
    out_of_range = await correct(intake, original, {**POINT, "lat": 123})
    assert out_of_range.status_code == 422 and out_of_range.json()["detail"][0]["loc"] == ["body", "lat"]
    assert await corrections_on_the_log(intake, duplicate) == []
    assert len(await corrections_on_the_log(intake, original)) == 1
