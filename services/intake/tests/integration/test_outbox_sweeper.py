"""A submission whose client never came back is published by the sweeper, once; a late retry answers from it.

On the real broker and database: the first attempt stores the submission and fails to publish (Kafka unreachable,
as a crash between the two would leave it); the sweep publishes it; the retry and a replay find it published.
"""

import asyncio

import pytest
from civicloop_events import decode_event
from civicloop_intake.entrypoints.sweep import sweep_once
from intake_harness import intake_settings, running

pytestmark = pytest.mark.integration

BODY = {"service_code": "pothole", "description": "Left behind", "lat": 38.9, "long": -77.0}
NOBODY_LISTENS = "127.0.0.1:1"


async def left_pending(intake, key: str) -> tuple[str, object]:
    cut_off = intake_settings(
        intake.settings.pg_dsn, NOBODY_LISTENS, intake.topics, kafka_connect_timeout_s=1
    )
    async with running(cut_off) as client:
        r = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": key})
        assert r.status_code == 503
    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "select state, request_number, event_id from intake.submissions where idempotency_key = %s",
            (key,),
        )
        state, number, event_id = await cur.fetchone()
    assert state == "pending"
    return number, event_id


async def copies_on_the_log(intake, event_id) -> int:
    return sum(decode_event(r.value).event_id == event_id for r in await intake.records())


async def test_the_sweeper_publishes_a_pending_submission_once_and_the_retry_gets_its_number_and_position(
    intake,
):
    number, event_id = await left_pending(intake, "swept-1")
    assert await copies_on_the_log(intake, event_id) == 0

    assert await sweep_once(intake.settings, older_than_s=0) >= 1  # the CLI's sweep
    assert await sweep_once(intake.settings, older_than_s=0) == 0
    assert await copies_on_the_log(intake, event_id) == 1

    retry = await intake.client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "swept-1"})
    assert retry.status_code == 200  # created earlier, by the sweep
    assert retry.json()["request_number"] == number
    [record] = [r for r in await intake.records() if decode_event(r.value).event_id == event_id]
    assert retry.headers["CivicLoop-Position"] == f"{record.partition}:{record.offset}"

    replay = await intake.client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "swept-1"})
    assert (replay.status_code, replay.json(), replay.headers["CivicLoop-Position"]) == (
        200,
        retry.json(),
        retry.headers["CivicLoop-Position"],
    )
    assert await copies_on_the_log(intake, event_id) == 1


async def published_within(intake, key: str, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        async with intake.pool.connection() as conn:
            cur = await conn.execute(
                "select state from intake.submissions where idempotency_key = %s", (key,)
            )
            if (await cur.fetchone())[0] == "published":
                return True
        await asyncio.sleep(0.1)
    return False


async def test_the_services_own_sweeper_publishes_what_was_left_pending(intake):
    number, event_id = await left_pending(intake, "swept-2")
    eager = intake_settings(
        intake.settings.pg_dsn,
        intake.settings.kafka_bootstrap,
        intake.topics,
        sweep_pending_after_s=0.2,
        sweep_every_s=0.2,
    )
    async with running(eager) as client:
        assert await published_within(intake, "swept-2", seconds=20)
        again = await client.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "swept-2"})
    assert (again.status_code, again.json()["request_number"]) == (200, number)
    assert await copies_on_the_log(intake, event_id) == 1


async def landed_but_left_pending(intake, key: str, body: dict) -> tuple[str, object]:
    """A submission whose event reached the log while its row stayed pending (the process died before the mark)."""
    r = await intake.client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "update intake.submissions set state = 'pending', partition = null, kafka_offset = null,"
            " published_at = null where idempotency_key = %s returning event_id",
            (key,),
        )
        (event_id,) = await cur.fetchone()
    return r.json()["request_number"], event_id


async def test_a_retry_of_a_submission_whose_event_landed_unheard_publishes_nothing_more(intake):
    body = {**BODY, "description": "Landed, then left pending"}
    number, event_id = await landed_but_left_pending(intake, "landed-1", body)
    retry = await intake.client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "landed-1"})
    # 201 as for any retry that completes a pending submission; its number, and the one record already there.
    assert (retry.status_code, retry.json()["request_number"]) == (201, number)
    [record] = [r for r in await intake.records() if decode_event(r.value).event_id == event_id]
    assert retry.headers["CivicLoop-Position"] == f"{record.partition}:{record.offset}"


async def test_the_sweeper_marks_a_submission_whose_event_landed_unheard_without_publishing_again(intake):
    body = {**BODY, "description": "Landed, then swept"}
    number, event_id = await landed_but_left_pending(intake, "landed-2", body)
    assert await sweep_once(intake.settings, older_than_s=0) >= 1
    assert await copies_on_the_log(intake, event_id) == 1
    async with intake.pool.connection() as conn:
        cur = await conn.execute(
            "select state from intake.submissions where idempotency_key = %s", ("landed-2",)
        )
        assert await cur.fetchone() == ("published",)
    late = await intake.client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": "landed-2"})
    assert (late.status_code, late.json()["request_number"]) == (200, number)  # answered, nothing published
    assert await copies_on_the_log(intake, event_id) == 1
