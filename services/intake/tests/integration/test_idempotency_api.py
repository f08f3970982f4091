import asyncio

import pytest
from civicloop_events import decode_event
from intake_harness import pothole_at_a_point

pytestmark = pytest.mark.integration

BODY = pothole_at_a_point("+1 202 555 0177")


async def test_the_same_key_twice_is_one_request_and_one_event(intake):
    headers = {"Idempotency-Key": "retry-me"}
    first = await intake.client.post("/api/v1/requests", json=BODY, headers=headers)
    second = await intake.client.post("/api/v1/requests", json=BODY, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert first.headers["CivicLoop-Position"] == second.headers["CivicLoop-Position"]
    records = await intake.records()
    assert [r.key for r in records] == [first.json()["request_number"].encode()]


async def test_concurrent_duplicates_make_one_request_and_one_event(intake):
    headers = {"Idempotency-Key": "double-tap"}
    answers = await asyncio.gather(
        *(intake.client.post("/api/v1/requests", json=BODY, headers=headers) for _ in range(8))
    )
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["request_number"] for a in answers}) == 1
    records = await intake.records()
    assert len(records) == 1
    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "select event_id, state from intake.submissions where idempotency_key = %s", ("double-tap",)
        )
        event_id, state = await cur.fetchone()
    assert state == "published" and decode_event(records[0].value).event_id == event_id


async def test_the_same_key_with_another_body_is_a_409(intake):
    headers = {"Idempotency-Key": "reused"}
    assert (await intake.client.post("/api/v1/requests", json=BODY, headers=headers)).status_code == 201
    r = await intake.client.post("/api/v1/requests", json={**BODY, "description": "Other"}, headers=headers)
    assert r.status_code == 409
    assert r.json()["error"] == "idempotency_key_reused"
    assert len(await intake.records()) == 1


async def test_without_a_key_each_post_is_its_own_request(intake):
    first = await intake.client.post("/api/v1/requests", json=BODY)
    second = await intake.client.post("/api/v1/requests", json=BODY)
    assert first.status_code == second.status_code == 201
    assert first.json()["request_number"] != second.json()["request_number"]
    assert len(await intake.records()) == 2
