"""A broker outage under a stream of submissions: refused at once while it lasts, served again within seconds of
the broker's return, nothing accepted lost and no event on the log twice.

The broker is the real Kafka, one of this test's own (`ThrowawayKafka`): the shared one is never stopped.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from civicloop_events import decode_event
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics, ensure_topics
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_testing import read_all_records
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import request_event
from civicloop_testing.faults import ThrowawayKafka
from civicloop_testing.lifecycle import started
from civicloop_testing.polling import eventually
from intake_harness import AGENT, SERVICES, intake_settings, running

pytestmark = [pytest.mark.integration, pytest.mark.faults]

BODY = {"service_code": "pothole", "description": "Deep hole", "lat": 38.9, "long": -77.0}


async def test_during_a_broker_outage_submissions_are_refused_at_once_and_served_again_within_seconds(
    migrated_dsn, pool, fresh_topics
):
    topics = Topics(prefix=fresh_topics.prefix, partitions=2)
    async with ThrowawayKafka() as kafka:
        await ensure_topics(kafka.bootstrap, topics)
        settings = intake_settings(
            migrated_dsn, kafka.bootstrap, topics, publish_timeout_s=3, event_log_breaker_open_s=1
        )
        async with running(settings) as client:
            await _define_services(kafka.bootstrap, topics, pool)
            accepted: dict[str, str] = {}  # idempotency key -> request number
            refused: list[str] = []

            async def submit(key: str) -> int:
                headers = {"Idempotency-Key": topics.prefix + key}  # keys are unique in the shared database
                r = await client.post("/api/v1/requests", json=BODY, headers=headers)
                if r.status_code == 201:
                    accepted[key] = r.json()["request_number"]
                else:
                    assert r.status_code == 503 and r.headers["retry-after"], r.text
                    refused.append(key)
                return r.status_code

            assert await submit("before") == 201
            await kafka.stop()

            # The first submission after the outage began waits out the publish timeout at most; once it has
            # failed, the next are refused at once, none stored.
            assert await submit("first-in-outage") == 503
            timings = []
            for n in range(10):
                started_at = time.monotonic()
                assert await submit(f"outage-{n}") == 503
                timings.append(time.monotonic() - started_at)
            assert max(timings) < 0.5, timings
            stored = await _stored_keys(pool, [f"{topics.prefix}outage-{n}" for n in range(10)])
            assert stored == set(), "a refused-at-once submission stored nothing"

            await kafka.start()
            back_at = time.monotonic()
            n = 0

            async def served() -> bool:
                nonlocal n
                n += 1
                return await submit(f"after-{n}") == 201

            await eventually(served, timeout=30, interval=0.25, what="a submission accepted after the outage")
            recovered_s = time.monotonic() - back_at
            assert recovered_s < 10, f"served again {recovered_s:.1f}s after the broker's return"

            for key in list(refused):  # every client retries with its key, as told
                assert await submit(key) == 201

        records = await read_all_records(kafka.bootstrap, topics.request_events, topics.partitions)
    events = [decode_event(r.value) for r in records if decode_event(r.value).type == "request.submitted"]
    twice = [e for e, count in Counter(str(e.event_id) for e in events).items() if count > 1]
    assert twice == []
    numbers = {e.request_id for e in events}
    assert set(accepted.values()) <= numbers and len(set(accepted.values())) == len(accepted)
    assert len(events) == len(accepted), "every accepted submission on the log once, and nothing else"
    print(
        f"served again {recovered_s:.2f}s after the broker returned; refused at once in ≤{max(timings):.3f}s"
    )


async def _define_services(bootstrap: str, topics: Topics, pool) -> None:
    async with started(
        EventProducer(bootstrap, topics.jurisdiction_config, client_id="outage-test")
    ) as producer:
        positions = [
            await producer.publish(request_event(service, request_id=None, actor=AGENT, source="agent"))
            for service in SERVICES
        ]
    await assert_applied(
        pool, schema="intake", consumer=topics.prefix + CATALOGUE_CONSUMER, positions=positions
    )


async def _stored_keys(pool, keys: list[str]) -> set[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select idempotency_key from intake.submissions where idempotency_key = any(%s)", (keys,)
        )
        return {row[0] for row in await cur.fetchall()}
