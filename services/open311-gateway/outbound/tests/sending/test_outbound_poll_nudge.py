"""`jurisdiction.body.poll_nudged` through the outbound config consumer on the real broker: the body's next poll and
its batch tokens are due at once, and a repeat of the same nudge (a retried sweep) does nothing once it was acted on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import BodyPollNudged
from civicloop_testing.events import config_event, publish_events
from outbound_harness import OutboundWorld, by_open311, service

pytestmark = pytest.mark.integration


async def test_a_nudge_is_pending_until_acted_on_and_a_repeat_of_it_is_dropped(
    outbound_world: OutboundWorld,
) -> None:
    w = outbound_world
    city = await w.new_city("nudge", service("POTHOLE", "Pothole"), by_open311("works", "Works", "POTHOLE"))
    async with w.pool.connection() as conn:
        await conn.execute(
            "insert into outbound.open311_tokens (jurisdiction_id, body_id, token, request_id, next_poll_at)"
            " values (%s, 'works', 'T-1', 'AAAA-0001', now() + interval '1 hour')",
            (city,),
        )
    nudge = config_event(
        BodyPollNudged(body_id="works", failing_since=datetime(2026, 12, 5, 9, tzinfo=UTC)),
        jurisdiction_id=city,
        admin="selfheal",
    )
    [position] = await publish_events(w.settings.kafka_bootstrap, w.topics.jurisdiction_config, [nudge])
    await wait_applied(w, position)

    async def pending() -> tuple[object, ...]:
        async with w.pool.connection() as conn:
            cur = await conn.execute(
                "select s.nudged_at, t.next_poll_at <= %s from outbound.body_poll_streaks s"
                " join outbound.open311_tokens t using (jurisdiction_id, body_id)"
                " where s.jurisdiction_id = %s and s.body_id = 'works'",
                (nudge.occurred_at, city),
            )
            return await cur.fetchone() or ()

    assert await pending() == (nudge.occurred_at, True)
    async with w.pool.connection() as conn:  # the poller acts on it
        await conn.execute(
            "update outbound.body_poll_streaks set nudged_at = null where jurisdiction_id = %s", (city,)
        )
    [again] = await publish_events(w.settings.kafka_bootstrap, w.topics.jurisdiction_config, [nudge])
    await wait_applied(w, again)
    assert await pending() == (None, True)


async def wait_applied(w: OutboundWorld, position) -> None:
    assert await wait_until_applied(
        w.pool,
        schema="outbound",
        consumer=w.settings.outbound_config_consumer_group,
        topic=position.topic,
        partition=position.partition,
        offset=position.offset,
        timeout_s=45,
    )
