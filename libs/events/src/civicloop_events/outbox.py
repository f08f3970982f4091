"""Exactly-once publishing: store pending -> publish with the same event ids -> mark published.

A command stores its idempotency record and the events it will publish in one transaction, as one row of its own
table (the outbox). `publish_stored` publishes the row's events, each under the event id it was built with, and
marks the row published with the log position of the last one. A retry of the command with the same key calls it
again: a row still pending is published again (the very same events), a published one is answered from the stored
position.

One record per event: a row still pending when a retry or the sweeper takes it may have been sent already (a publish
that timed out yet landed, an acknowledgement lost with the connection, a process that died after sending). So
before publishing such a row again, the publisher asks the log where its events already stand (`EventLog.find`) and
sends only those not there; the producer also never sends an event again while its own earlier send of it is still
on its way (`civicloop_events.producer`). Only a command's first publish of the row it has just stored skips the
search. Should an event still reach the log twice, both copies carry one event id and every consumer's inbox drops
the second.

A row is held (a row lock) only while its own events are published, so two retries never publish it twice side by
side; nothing else is held across the broker call. The `Sweeper` publishes rows left pending longer than a threshold
(a client that never came back), one replica at a time.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge

from civicloop_events.envelope import Event
from civicloop_events.positions import LogPosition
from civicloop_events.registry import UnknownEventType, decode_event
from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled

log = logging.getLogger("civicloop.outbox")

PUBLISHED = Counter(
    "civicloop_outbox_published_total",
    "Stored rows whose events were published and marked, by who published them (command or sweeper)",
    ["outbox", "by"],
)
SWEPT = Counter("civicloop_outbox_swept_total", "Rows left pending that the sweeper published", ["outbox"])
OLDEST_PENDING = Gauge(
    "civicloop_outbox_oldest_pending_seconds",
    "Age of the oldest row still pending (0 when none), as the sweeper last saw it",
    ["outbox"],
)
UNPUBLISHABLE = Counter(
    "civicloop_outbox_unpublishable_total",
    "Pending rows the sweeper set aside because their events do not decode (they need a person)",
    ["outbox"],
)
FOUND_ON_LOG = Counter(
    "civicloop_outbox_found_on_log_total",
    "Events of a pending row found already on the log (an earlier attempt landed unheard), so not sent again",
)
SWEEP_FAILURES = Counter(
    "civicloop_outbox_sweep_failures_total", "Sweeps that stopped on an error (the broker down)", ["outbox"]
)


class EventLogUnavailable(Exception):
    """The broker did not acknowledge in time: nothing was accepted, the caller may retry."""


class EventLog(ABC):
    @abstractmethod
    async def publish(self, event: Event[Any]) -> LogPosition:
        """Return once the broker acknowledged; raise `EventLogUnavailable` otherwise."""

    def refuse_if_unavailable(self) -> None:
        """Raise `EventLogUnavailable` at once when the log is known to be down, so a command checks before it
        stores anything (`civicloop_events.breaker`); by default the log is not known to be down."""
        return None

    async def find(self, events: Sequence[Event[Any]], *, since: datetime) -> list[LogPosition | None]:
        """Where each of `events` already stands on the log (None where it is not), reading nothing stamped before
        `since`; raise `EventLogUnavailable` when the log cannot be read. A log that cannot be read back (a test's
        stand-in that keeps nothing) finds nothing."""
        return [None] * len(events)


@dataclass(frozen=True)
class Stored:
    """One outbox row as the publisher sees it: its key, its encoded events (published in order), its state."""

    key: str
    events: tuple[str, ...]
    published: bool = False
    position: LogPosition | None = None  # of the last event, where the table keeps it
    created_at: datetime | None = None  # when the row was stored: no earlier send of its events can be older
    age: timedelta | None = None  # how long ago that was, by the same clock, when the row was read


class Claim(ABC):
    """A row held exclusively until the block ends."""

    entry: Stored

    @abstractmethod
    async def mark_published(self, position: LogPosition | None) -> Stored: ...


class Outbox(ABC):
    """The rows of one table: what a command stored, and what is still pending."""

    outbox_name: str

    @abstractmethod
    async def stored(self, key: str) -> Stored | None: ...

    @abstractmethod
    def claim(self, key: str) -> AbstractAsyncContextManager[Claim]:
        """Hold the row (waiting for whoever holds it); raises LookupError when there is none."""

    @abstractmethod
    def claim_oldest_pending(
        self, older_than: timedelta, *, skip: frozenset[str] = frozenset()
    ) -> AbstractAsyncContextManager[Claim | None]:
        """Hold the oldest row pending longer than `older_than` that nobody holds and whose key is not in `skip`.

        None when there is none, or when another process is sweeping this outbox right now.
        """

    @abstractmethod
    async def oldest_pending_age(self) -> timedelta | None: ...


@dataclass(frozen=True)
class Outcome:
    entry: Stored
    position: LogPosition | None  # of the last event published by this call, else the stored one
    published_now: bool  # False when an earlier call (or the sweeper) had published the row


async def publish_stored(
    outbox: Outbox, event_log: EventLog, key: str, *, stored_now: bool = False
) -> Outcome:
    """Publish the row's events unless already published; answer where the last one stands.

    `stored_now`: the caller has just inserted the row, so it cannot be published yet and the unlocked read that
    answers replays cheaply is skipped (one round trip less on every new command).
    """
    entry = None if stored_now else await outbox.stored(key)
    if entry is not None and entry.published:  # a replay: no lock, no transaction
        return Outcome(entry, entry.position, published_now=False)
    # A retry of a pending row looks on the log before it takes the row, so that no row lock and no pooled
    # connection wait on the search: after an outage, retries of many pending rows at once starved the pool.
    found = await _on_log(entry, event_log) if entry is not None else None
    async with outbox.claim(key) as claim:
        if claim.entry.published:  # a concurrent retry or the sweeper published it while this call waited
            return Outcome(claim.entry, claim.entry.position, published_now=False)
        position = await _publish(
            claim, event_log, maybe_sent=_maybe_sent(claim.entry, stored_now=stored_now), found=found
        )
    PUBLISHED.labels(outbox.outbox_name, "command").inc()
    return Outcome(claim.entry, position, published_now=True)


# A row its own command holds within this time of storing it cannot have been sent by anyone else: a concurrent
# retry that took the row first would still be waiting for its broker (a publish waits longer than this to fail).
FRESH_ROW = timedelta(seconds=1)


def _maybe_sent(entry: Stored, *, stored_now: bool) -> bool:
    """Whether an earlier attempt may have sent the row's events: unless this call has just stored the row and
    holds it fresh, a retry, the sweeper or a crashed process may have got there first, so the log is asked."""
    if not stored_now:
        return True
    return entry.age is None or entry.age > FRESH_ROW


async def _on_log(entry: Stored, event_log: EventLog) -> list[LogPosition | None]:
    """Where each of the row's events already stands on the log (None where it does not)."""
    events = [decode_event(text) for text in entry.events]
    if not events:
        return []
    if entry.created_at is None:
        raise ValueError(f"{entry.key}: a row published again needs the time it was stored")
    on_log = await event_log.find(events, since=entry.created_at)
    if any(on_log):
        FOUND_ON_LOG.inc(sum(1 for p in on_log if p is not None))
    return on_log


async def _publish(
    claim: Claim, event_log: EventLog, *, maybe_sent: bool, found: list[LogPosition | None] | None = None
) -> LogPosition | None:
    """Publish the row's events in order, but none that an earlier attempt already put on the log (`found`, when
    the caller searched before taking the row; else searched here if it `maybe_sent`); mark the row."""
    position = None
    events = [decode_event(text) for text in claim.entry.events]  # all or none: decode before publishing any
    on_log: list[LogPosition | None] = [None] * len(events)
    if found is not None:
        on_log = found
    elif maybe_sent:
        on_log = await _on_log(claim.entry, event_log)
    for event, found_at in zip(events, on_log, strict=True):
        position = found_at or await event_log.publish(event)
    await claim.mark_published(position)
    return position


class Sweeper:
    """Publishes what has been pending longer than `older_than`: the rows of clients that never retried."""

    def __init__(
        self, outboxes: Sequence[Outbox], event_log: EventLog, *, older_than: timedelta, batch: int = 100
    ) -> None:
        self.outboxes = list(outboxes)
        self.event_log = event_log
        self.older_than = older_than
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        # Rows whose events do not decode, per outbox: skipped so one bad row never holds up those behind it.
        self._unpublishable: dict[str, frozenset[str]] = {}

    async def sweep_once(self) -> int:
        """Publish up to `batch` pending rows of each outbox; the number published. Stops at the first failure."""
        swept = 0
        for outbox in self.outboxes:
            try:
                swept += await self._sweep(outbox)
            except EventLogUnavailable as exc:
                SWEEP_FAILURES.labels(outbox.outbox_name).inc()
                log.warning(
                    "sweep stopped: the event log is unavailable",
                    extra={"outbox": outbox.outbox_name, "error": str(exc)},
                )
            age = await outbox.oldest_pending_age()
            OLDEST_PENDING.labels(outbox.outbox_name).set(age.total_seconds() if age else 0.0)
        return swept

    async def _sweep(self, outbox: Outbox) -> int:
        swept = 0
        while swept < self.batch:
            skip = self._unpublishable.get(outbox.outbox_name, frozenset())
            async with outbox.claim_oldest_pending(self.older_than, skip=skip) as claim:
                if claim is None:
                    return swept
                try:
                    position = await _publish(claim, self.event_log, maybe_sent=True)
                except (UnknownEventType, ValueError):  # not an envelope, or not a valid payload
                    self._set_aside(outbox.outbox_name, claim.entry.key)
                    continue
            swept += 1
            PUBLISHED.labels(outbox.outbox_name, "sweeper").inc()
            SWEPT.labels(outbox.outbox_name).inc()
            log.info(
                "pending row published by the sweeper",
                extra={
                    "outbox": outbox.outbox_name,
                    "partition": position.partition if position else None,
                    "offset": position.offset if position else None,
                },
            )
        return swept

    def _set_aside(self, outbox_name: str, key: str) -> None:
        self._unpublishable[outbox_name] = self._unpublishable.get(outbox_name, frozenset()) | {key}
        UNPUBLISHABLE.labels(outbox_name).inc()
        log.error(
            "pending row set aside: its events do not decode", extra={"outbox": outbox_name, "key": key}
        )

    async def run(self, every: timedelta) -> None:
        """Sweep every `every` until cancelled."""
        while True:
            try:
                await self.sweep_once()
            except Exception as exc:  # a database hiccup must not end the loop; the next tick tries again
                raise_if_cancelled(exc)
                log.exception("sweep failed")
            await asyncio.sleep(every.total_seconds())

    def start(self, every: timedelta) -> None:
        """Run in the background of the service process that owns the tables."""
        self._task = asyncio.create_task(self.run(every), name="outbox-sweeper")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
