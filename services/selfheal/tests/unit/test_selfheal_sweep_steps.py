"""The sweep's steps on in-memory twins of its ports (milliseconds): publish before done, a failed publish left
pending for the next run, intake asked to sweep when its pending row is too old, errors recorded by kind only."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from civicloop_events import Event
from civicloop_selfheal.domain.decisions import Action, Ledger
from civicloop_selfheal.domain.findings import SweepPolicy
from civicloop_selfheal.domain.runs import Outcome, RunReport, Trigger
from civicloop_selfheal.domain.view import DeadLetter, RequestView, request_after
from civicloop_selfheal.service_layer.ports import (
    EventPublisher,
    IntakeOutboxes,
    Snapshot,
    SweepStore,
)
from civicloop_selfheal.service_layer.sweep import SweepDeps, run_sweep
from selfheal_events import DEFINITION, T0, H, submitted


class MemoryStore(SweepStore):
    def __init__(self, requests: Sequence[RequestView]) -> None:
        self.requests = list(requests)
        self.actions: dict[UUID, tuple[Action, Event[Any], datetime, bool]] = {}
        self.runs: list[RunReport] = []

    async def snapshot(self) -> Snapshot:
        return Snapshot(self.requests, {"demo": DEFINITION}, {}, [], {}, [], {})

    async def ledger(self, subjects: Collection[str]) -> Ledger:
        last: dict[Any, datetime] = {}
        for action, _, at, _ in self.actions.values():
            key = (action.kind, action.subject)
            last[key] = max(last.get(key, at), at)
        return Ledger(last_action_at=last, last_requeue_at={})

    async def done(self, event_ids: Collection[UUID]) -> set[UUID]:
        return set(event_ids) & set(self.actions)

    async def record_pending(
        self, run_id: UUID, actions: Sequence[tuple[Action, Event[Any]]], *, now: datetime
    ) -> list[Event[Any]]:
        fresh = [(a, e) for a, e in actions if e.event_id not in self.actions]
        for a, e in fresh:
            self.actions[e.event_id] = (a, e, now, False)
        return [e for _, e in fresh]

    async def pending(self) -> list[Event[Any]]:
        return [e for _, e, _, published in self.actions.values() if not published]

    async def mark_published(self, event_ids: Collection[UUID]) -> None:
        for i in event_ids:
            a, e, at, _ = self.actions[i]
            self.actions[i] = (a, e, at, True)

    async def dead_letters_seen(self, dead_letters: Iterable[DeadLetter]) -> None:
        return None

    async def start_run(self, report: RunReport) -> None:
        self.runs.append(report)

    async def finish_run(self, report: RunReport) -> None:
        return None


class Log(EventPublisher):
    def __init__(self, *, down: bool = False) -> None:
        self.events: list[Event[Any]] = []
        self.down = down

    async def publish_many(self, events: Sequence[Event[Any]]) -> None:
        if self.down:
            raise ConnectionError("http://broker.internal/?password=hunter2 refused")
        self.events += events


class Intake(IntakeOutboxes):
    def __init__(self, oldest_s: float | None) -> None:
        self.oldest_s = oldest_s
        self.swept = 0

    async def oldest_pending_s(self) -> float | None:
        return self.oldest_s

    async def sweep_now(self) -> int:
        self.swept += 1
        return 3


def unacknowledged() -> RequestView:
    view = request_after(None, submitted(T0))
    assert view is not None
    return view


async def sweep(
    store: SweepStore, log: EventPublisher, *, now: datetime, intake: IntakeOutboxes | None = None
) -> RunReport:
    deps = SweepDeps(store=store, publisher=log, dead_letters=None, intake=intake, policy=SweepPolicy())
    return await run_sweep(deps, RunReport(run_id=uuid4(), trigger=Trigger.schedule, started_at=now), now=now)


async def test_a_failed_publish_is_left_pending_recorded_by_kind_and_published_by_the_next_run() -> None:
    store, down = MemoryStore([unacknowledged()]), Log(down=True)
    failed = await sweep(store, down, now=T0 + 2 * H)
    assert (failed.outcome, failed.errors, failed.done) == (Outcome.partial, ["actions: ConnectionError"], {})
    assert len(await store.pending()) == 2

    up = Log()
    second = await sweep(store, up, now=T0 + 2.5 * H)
    assert (second.outcome, second.done) == (Outcome.done, {"republished": 2})
    assert await store.pending() == []
    assert sorted(e.type for e in up.events) == ["request.declared_late", "request.escalated"]

    third = await sweep(store, up, now=T0 + 3 * H)
    assert third.done == {} and len(up.events) == 2


async def test_intake_is_asked_to_sweep_only_when_its_pending_row_is_too_old() -> None:
    young, old = Intake(oldest_s=10.0), Intake(oldest_s=SweepPolicy().pending_after.total_seconds())
    quiet = await sweep(MemoryStore([]), Log(), now=T0, intake=young)
    asked = await sweep(MemoryStore([]), Log(), now=T0, intake=old)
    assert (young.swept, quiet.found, quiet.done) == (0, {}, {})
    assert (old.swept, asked.found, asked.done) == (
        1,
        {"submissions_pending": 1},
        {"sweep_pending": 1, "republished_by_intake": 3},
    )


async def test_a_run_is_finished_with_its_duration_even_when_time_was_moved() -> None:
    report = await sweep(MemoryStore([]), Log(), now=T0 + timedelta(days=400))
    assert report.finished_at is not None and timedelta(
        0
    ) <= report.finished_at - report.started_at < timedelta(seconds=5)
