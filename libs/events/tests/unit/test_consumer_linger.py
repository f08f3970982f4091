"""The runner's linger: a poll short of a batch waits for more records before applying them, in log order."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from civicloop_events.consumer import ConsumerRunner
from psycopg_pool import AsyncConnectionPool

A, B = TopicPartition("t.requests.events", 0), TopicPartition("t.requests.events", 1)


class Polls:
    """What the broker hands over: the first poll, then whatever arrived by the next one."""

    def __init__(self, *answers: dict[TopicPartition, list[str]]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[int, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[str]]:
        self.asked.append((timeout_ms, max_records))
        return self.answers.pop(0) if self.answers else {}


def runner(polls: Polls, **bounds: Any) -> ConsumerRunner:
    async def handler(conn: Any, event: Any) -> None:
        return None

    r = ConsumerRunner(
        name="t.linger.v1",
        bootstrap_servers="127.0.0.1:1",
        topic="t.requests.events",
        dead_letter_topic="t.requests.events.dlq",
        pool=AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False),
        schema="t",
        handler=handler,
        producer=None,  # type: ignore[arg-type]  # never reached: nothing is dead-lettered here
        **bounds,
    )
    r._consumer = polls  # type: ignore[assignment]
    return r


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("civicloop_events.consumer.asyncio.sleep", sleep)
    return waits


async def test_a_short_poll_waits_the_linger_and_takes_what_arrived_after_its_own_records(slept):
    polls = Polls({A: ["a1"]}, {A: ["a2", "a3"], B: ["b1"]})
    got = await runner(polls, batch_max_records=10, batch_linger_ms=20)._poll()
    assert got == {A: ["a1", "a2", "a3"], B: ["b1"]}
    assert slept == [0.02]
    assert polls.asked == [(200, 10), (0, 9)]  # the second poll takes no more than the batch has room for


@pytest.mark.parametrize(
    ("first", "linger_ms"),
    [({}, 20), ({A: ["a1", "a2"]}, 20), ({A: ["a1"]}, 0)],
    ids=["nothing polled", "a full batch", "no linger"],
)
async def test_no_wait_when_idle_full_or_not_asked(first, linger_ms, slept):
    polls = Polls(first, {A: ["later"]})
    got = await runner(polls, batch_max_records=2, batch_linger_ms=linger_ms)._poll()
    assert got == first
    assert slept == [] and len(polls.asked) == 1


async def test_a_runner_stopped_during_the_linger_polls_no_more(monkeypatch):
    polls = Polls({A: ["a1"]}, {A: ["a2"]})
    r = runner(polls, batch_max_records=10, batch_linger_ms=20)

    async def stopped_meanwhile(seconds: float) -> None:
        r._stopping.set()  # what stop() does first; it then stops the Kafka client, which refuses polls

    monkeypatch.setattr("civicloop_events.consumer.asyncio.sleep", stopped_meanwhile)
    assert await r._poll() == {A: ["a1"]}
    assert len(polls.asked) == 1
