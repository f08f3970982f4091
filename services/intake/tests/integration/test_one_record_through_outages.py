"""Clients retrying through broker trouble leave each accepted submission once on the log.

Intake runs on a throwaway broker (`civicloop_testing.faults`). Clients submit, each under its own Idempotency-Key,
and retry every failure with the same key until they get a 2xx. Meanwhile the broker's acknowledgements are lost
for a while (the broker takes the records, intake never hears) and then the broker is stopped and started again.
Every submission ends answered with one number, and its event stands on the log exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
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
from intake_harness import AGENT, SERVICES, intake_settings, running

# A broker or database of the test's own is stopped or cut off: the fault suite (`make test-faults`), not `make test`.
pytestmark = [pytest.mark.integration, pytest.mark.faults]

CLIENTS = 12


async def submit_until_answered(client: httpx.AsyncClient, key: str, stop: asyncio.Event) -> str:
    body = {"service_code": "pothole", "description": f"Hole {key}", "lat": 38.9, "long": -77.0}
    while True:
        try:
            r = await client.post("/api/v1/requests", json=body, headers={"Idempotency-Key": key})
            if r.status_code in (200, 201):
                return str(r.json()["request_number"])
            assert r.status_code == 503, r.text  # the log unavailable: the client retries
        except httpx.TimeoutException:
            pass
        if stop.is_set():
            raise AssertionError(f"{key} never answered")
        await asyncio.sleep(0.3)  # a client's back-off between retries


async def test_submissions_retried_through_lost_acknowledgements_and_a_broker_restart_stand_once(
    migrated_dsn, pool
):
    async with ThrowawayKafka() as kafka:
        topics = Topics(prefix=f"t{uuid.uuid4().hex[:8]}.", partitions=3)
        await ensure_topics(kafka.bootstrap, topics, timeout_s=60)
        async with started(EventProducer(kafka.bootstrap, topics.jurisdiction_config)) as config:
            positions = [
                await config.publish(request_event(s, request_id=None, actor=AGENT, source="agent"))
                for s in SERVICES
            ]
        settings = intake_settings(
            migrated_dsn, kafka.bootstrap, topics, publish_timeout_s=2, kafka_connect_timeout_s=2
        )
        async with running(settings) as client:
            await assert_applied(
                pool, schema="intake", consumer=topics.prefix + CATALOGUE_CONSUMER, positions=positions
            )
            keys = [f"outage-{uuid.uuid4().hex[:10]}" for _ in range(CLIENTS)]
            give_up = asyncio.Event()
            await kafka.proxy.restore()
            kafka.proxy.swallow_replies = True  # records reach the broker, answers never come back
            clients = [asyncio.create_task(submit_until_answered(client, k, give_up)) for k in keys]
            await asyncio.sleep(3)  # long enough for every first attempt to time out unheard
            kafka.proxy.swallow_replies = False
            await kafka.proxy.cut()
            await kafka.stop()
            await kafka.proxy.restore()
            await asyncio.sleep(2)  # the broker down for a while, clients retrying into it
            await kafka.start()
            try:
                async with asyncio.timeout(120):
                    numbers = await asyncio.gather(*clients)
            finally:
                give_up.set()
        assert len(set(numbers)) == CLIENTS, "one request per client"

        async with pool.connection() as conn:
            cur = await conn.execute(
                "select event_id from intake.submissions where idempotency_key = any(%s)", (keys,)
            )
            accepted = {row[0] for row in await cur.fetchall()}
        records = await read_all_records(kafka.bootstrap, topics.request_events, topics.partitions)
        copies = Counter(decode_event(r.value).event_id for r in records)
        assert {event_id: copies[event_id] for event_id in accepted} == dict.fromkeys(accepted, 1)
