"""Kafka unreachable: 503, the submission stays pending, and a retry with the same key completes it."""

import pytest
from civicloop_events import decode_event
from intake_harness import intake_settings, running

pytestmark = pytest.mark.integration

BODY = {"service_code": "pothole", "description": "Deep hole", "lat": 38.9, "long": -77.0}
NOBODY_LISTENS = "127.0.0.1:1"


async def test_a_submission_the_broker_never_saw_is_completed_by_its_retry(intake):
    cut_off = intake_settings(
        intake.settings.pg_dsn, NOBODY_LISTENS, intake.topics, kafka_connect_timeout_s=1
    )
    async with running(cut_off) as client:  # starts all the same, and says it is not ready
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": True, "migrations": True, "kafka": False}

        r = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "outage-1"})
        assert r.status_code == 503
        assert r.json()["error"] == "event_log_unavailable"
        assert r.json()["idempotency_key"] == "outage-1"

    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "select state, request_number, event_id from intake.submissions"
            " where idempotency_key = 'outage-1'"
        )
        state, number, event_id = await cur.fetchone()
    assert state == "pending"
    assert await intake.records() == []

    retry = await intake.client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "outage-1"})
    assert retry.status_code == 201
    assert retry.json()["request_number"] == number
    [record] = await intake.records()
    assert decode_event(record.value).event_id == event_id
