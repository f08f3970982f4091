"""Consumer wiring: every runner a service builds carries the consumer settings (intake's included)."""

from __future__ import annotations

import pytest
from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers
from civicloop_runtime.settings import ServiceSettings
from psycopg_pool import AsyncConnectionPool


async def handler(conn, event) -> None:
    return None


async def test_runners_take_attempts_back_off_and_dead_letters_from_the_settings():
    settings = ServiceSettings(
        topic_prefix="t1.",
        consumer_max_attempts=2,
        consumer_backoff_initial_s=0.5,
        consumer_backoff_max_s=7.0,
        consumer_session_timeout_ms=6_000,
    )
    consumers = ServiceConsumers(
        settings,
        pool=AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False),
        schema="svc",
        dead_letters=EventProducer("127.0.0.1:1", settings.topics.dead_letters),
        specs=[ConsumerSpec("t1.svc.view.v1", settings.topics.request_events, handler)],
    )
    runner = consumers.runner("t1.svc.view.v1")
    assert (runner.name, runner.topic, runner.dead_letter_topic) == (
        "t1.svc.view.v1",
        "t1.requests.events",
        "t1.requests.events.dlq",
    )
    assert (runner.max_attempts, runner.backoff_initial_s, runner.backoff_max_s) == (2, 0.5, 7.0)
    assert not consumers.running  # nothing started until `start()`


async def fold_many(conn, events) -> None:
    return None


async def test_a_spec_with_a_batch_handler_builds_a_runner_that_applies_batches():
    settings = ServiceSettings(topic_prefix="t2.", consumer_batch_max_records=64, consumer_batch_linger_ms=7)
    consumers = ServiceConsumers(
        settings,
        pool=AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False),
        schema="svc",
        dead_letters=EventProducer("127.0.0.1:1", settings.topics.dead_letters),
        specs=[ConsumerSpec("t2.svc.view.v1", settings.topics.request_events, batch_handler=fold_many)],
    )
    runner = consumers.runner("t2.svc.view.v1")
    assert runner.batch_handler is fold_many
    assert (runner.batch_max_records, runner.batch_linger_ms) == (64, 7)


def test_a_spec_takes_exactly_one_of_handler_and_batch_handler():
    for both_or_neither in ({"handler": handler, "batch_handler": fold_many}, {}):
        with pytest.raises(ValueError, match="exactly one"):
            ConsumerSpec("t3.svc.view.v1", "t3.requests.events", **both_or_neither)
