"""The event-log breaker: refuse at once while the log is down, probe one call at a time, close on success."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from civicloop_events.breaker import GuardedEventLog, LogBreaker
from civicloop_events.outbox import EventLog, EventLogUnavailable
from civicloop_events.positions import LogPosition


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedLog(EventLog):
    """Answers each publish as told: a position, or EventLogUnavailable while `down`."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def publish(self, event: Any) -> LogPosition:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise EventLogUnavailable("broker down")
        return LogPosition(0, self.calls)


async def fail_once(log: GuardedEventLog) -> None:
    """The broker goes down: a publish reaches it, fails, and opens the breaker."""
    log.inner.down = True  # type: ignore[attr-defined]
    with pytest.raises(EventLogUnavailable, match="broker down"):
        await log.publish(object())


def guarded() -> tuple[GuardedEventLog, ScriptedLog, Clock]:
    clock = Clock()
    inner = ScriptedLog()
    return GuardedEventLog(inner, LogBreaker(open_s=2.0, name="test", clock=clock)), inner, clock


async def test_a_failed_publish_opens_the_breaker_and_later_calls_are_refused_without_reaching_the_log():
    log, inner, clock = guarded()
    inner.down = True
    with pytest.raises(EventLogUnavailable):
        await log.publish(object())
    assert inner.calls == 1
    clock.now += 1.9
    with pytest.raises(EventLogUnavailable, match="refused at once"):
        await log.publish(object())
    with pytest.raises(EventLogUnavailable):
        log.refuse_if_unavailable()
    assert inner.calls == 1
    assert log.breaker.retry_after_s() == pytest.approx(0.1)


async def test_after_the_open_time_one_probe_goes_through_and_its_success_closes_the_breaker():
    log, inner, clock = guarded()
    await fail_once(log)
    clock.now += 2.0
    inner.down = False
    log.refuse_if_unavailable()  # the open time is over: a command may store and try
    assert await log.publish(object()) == LogPosition(0, 2)
    assert not log.breaker.is_open
    assert await log.publish(object()) == LogPosition(0, 3)


async def test_a_failed_probe_keeps_the_breaker_open_for_another_period():
    log, inner, clock = guarded()
    await fail_once(log)
    clock.now += 2.5
    with pytest.raises(EventLogUnavailable, match="broker down"):
        await log.publish(object())  # the probe reached the log and failed
    clock.now += 1.0
    with pytest.raises(EventLogUnavailable, match="refused at once"):
        await log.publish(object())
    assert inner.calls == 2


async def test_while_a_probe_is_in_flight_other_calls_are_refused():
    log, inner, clock = guarded()
    await fail_once(log)
    clock.now += 3
    inner.down, inner.gate = False, asyncio.Event()
    probe = asyncio.create_task(log.publish(object()))
    await asyncio.sleep(0)  # let the probe reach the log and wait there
    assert inner.calls == 2
    with pytest.raises(EventLogUnavailable, match="refused at once"):
        await log.publish(object())
    with pytest.raises(EventLogUnavailable, match="refused at once"):
        log.refuse_if_unavailable()  # a command would store and then fail to publish
    inner.gate.set()
    assert await probe == LogPosition(0, 2)
    log.refuse_if_unavailable()
    assert not log.breaker.is_open


async def test_a_cancelled_probe_lets_the_next_call_probe():
    log, inner, clock = guarded()
    await fail_once(log)
    clock.now += 3
    inner.down, inner.gate = False, asyncio.Event()
    probe = asyncio.create_task(log.publish(object()))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    inner.gate.set()
    assert await log.publish(object()) == LogPosition(0, 3)


async def test_a_log_that_never_failed_is_never_refused():
    log, inner, _ = guarded()
    log.refuse_if_unavailable()
    assert [await log.publish(object()) for _ in range(3)] == [LogPosition(0, n) for n in (1, 2, 3)]
    assert inner.calls == 3


async def test_a_search_of_the_log_goes_to_the_log_even_while_the_breaker_is_open():
    class Searchable(ScriptedLog):
        async def find(self, events, *, since):
            return [LogPosition(3, 7)] * len(events)

    clock = Clock()
    log = GuardedEventLog(Searchable(), LogBreaker(open_s=2.0, name="test", clock=clock))
    await fail_once(log)
    assert await log.find([object(), object()], since=None) == [LogPosition(3, 7)] * 2
