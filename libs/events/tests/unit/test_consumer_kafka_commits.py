"""The runner's Kafka offset commits (informational): in the background, the latest offsets, once an interval."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition
from civicloop_events.consumer import ConsumerRunner
from psycopg_pool import AsyncConnectionPool

A, B = TopicPartition("t.requests.events", 0), TopicPartition("t.requests.events", 1)


class Kafka:
    """The commits the broker was asked for."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.committed = asyncio.Event()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))
        self.committed.set()


class Interval:
    """The pause between two commits, ended by the test."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.pausing, self.over = asyncio.Event(), asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.pausing.set()
        await self.over.wait()
        self.pausing.clear()
        self.over.clear()


def runner(kafka: Kafka) -> ConsumerRunner:
    async def handler(conn: Any, event: Any) -> None:
        return None

    r = ConsumerRunner(
        name="t.commits.v1",
        bootstrap_servers="127.0.0.1:1",
        topic="t.requests.events",
        dead_letter_topic="t.requests.events.dlq",
        pool=AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False),
        schema="t",
        handler=handler,
        producer=None,  # type: ignore[arg-type]  # never reached: nothing is dead-lettered here
        kafka_commit_interval_s=1.5,
    )
    r._consumer = kafka  # type: ignore[assignment]
    return r


def applied(r: ConsumerRunner, tp: TopicPartition, nxt: int) -> None:
    """What the runner does once a batch has committed in PostgreSQL."""
    r._uncommitted[tp] = nxt
    r._commit_wanted.set()


async def test_offsets_applied_during_the_interval_go_in_one_commit_after_it(monkeypatch: pytest.MonkeyPatch):
    kafka, interval = Kafka(), Interval()
    monkeypatch.setattr("civicloop_events.consumer.asyncio.sleep", interval.sleep)
    r = runner(kafka)
    committer = asyncio.create_task(r._commit_kafka_offsets())
    try:
        applied(r, A, 5)
        await kafka.committed.wait()
        kafka.committed.clear()
        await interval.pausing.wait()
        applied(r, A, 6)
        applied(r, A, 7)
        applied(r, B, 3)
        assert kafka.commits == [{A: 5}]  # nothing more within the interval
        interval.over.set()
        await kafka.committed.wait()
        assert kafka.commits == [{A: 5}, {A: 7, B: 3}]  # the latest of each partition
        assert interval.asked[0] == 1.5  # the interval the runner was given
    finally:
        committer.cancel()
        await asyncio.gather(committer, return_exceptions=True)
