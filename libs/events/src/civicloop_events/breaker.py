"""Fail fast while the event log is down, instead of letting every request wait out the broker's timeout.

Without it, each request during a broker outage held a pooled connection (and its outbox row) for the whole publish
timeout; requests and client retries queued behind them, and the service stayed unusable long after the broker was
back. With it, the first failed publish opens the breaker: for `open_s` seconds every publish, and every command that
checks before storing (`refuse_if_unavailable`), is refused at once (503 with Retry-After). Then one call at a time
is let through as a probe; the first success closes the breaker, a failure keeps it open for another `open_s`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge

from civicloop_events.envelope import Event
from civicloop_events.outbox import EventLog, EventLogUnavailable
from civicloop_events.positions import LogPosition

T = TypeVar("T")

OPEN = Gauge(
    "civicloop_event_log_breaker_open", "1 while publishes are refused at once (the log is down)", ["log"]
)
REFUSED = Counter(
    "civicloop_event_log_breaker_refused_total",
    "Publishes and commands refused while the breaker was open",
    ["log"],
)


class LogBreaker:
    """The breaker's state; pure, with an injectable clock. Not thread-safe: one event loop owns it."""

    def __init__(
        self, *, open_s: float = 2.0, name: str = "requests", clock: Callable[[], float] = time.monotonic
    ):
        self.open_s = open_s
        self.name = name
        self.clock = clock
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def retry_after_s(self) -> float:
        """Seconds until a call may be let through again (0 when closed)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.open_s - self.clock())

    def admit(self) -> bool:
        """May a call go to the log now? While open, only one probe at a time once `open_s` has passed."""
        if self._opened_at is None:
            return True
        if self._probing or self.clock() < self._opened_at + self.open_s:
            return False
        self._probing = True
        return True

    def succeeded(self) -> None:
        self._opened_at, self._probing = None, False
        OPEN.labels(self.name).set(0)

    def failed(self) -> None:
        self._opened_at, self._probing = self.clock(), False
        OPEN.labels(self.name).set(1)

    def abandoned(self) -> None:
        """An admitted call ended without an answer either way (cancelled): let the next one probe."""
        self._probing = False

    def refuse_if_open(self) -> None:
        """For a command before it stores anything: raise while the log is known to be down, and while a probe is
        finding out (a command let through now could not publish anyway)."""
        if self.is_open and (self._probing or self.retry_after_s() > 0):
            raise self.refuse()

    async def call(self, publish: Callable[[], Awaitable[T]]) -> T:
        """`publish()` if admitted (else refused at once); its outcome opens or closes the breaker."""
        if not self.admit():
            raise self.refuse()
        try:
            result = await publish()
        except EventLogUnavailable:
            self.failed()
            raise
        except BaseException:
            self.abandoned()
            raise
        self.succeeded()
        return result

    def refuse(self) -> EventLogUnavailable:
        REFUSED.labels(self.name).inc()
        wait = self.retry_after_s()
        return EventLogUnavailable(f"the event log is unavailable; refused at once (next try in {wait:.1f}s)")


class GuardedEventLog(EventLog):
    """`inner` behind a `LogBreaker`."""

    def __init__(self, inner: EventLog, breaker: LogBreaker) -> None:
        self.inner = inner
        self.breaker = breaker

    def refuse_if_unavailable(self) -> None:
        self.breaker.refuse_if_open()

    async def publish(self, event: Event[Any]) -> LogPosition:
        return await self.breaker.call(lambda: self.inner.publish(event))

    async def find(self, events: Sequence[Event[Any]], *, since: datetime) -> list[LogPosition | None]:
        # Not behind the breaker: a search that cannot read the log raises, and nothing is published after it.
        return await self.inner.find(events, since=since)
