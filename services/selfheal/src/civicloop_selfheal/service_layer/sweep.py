"""One sweep: find what is stuck, decide what to do, and do it, each action once.

The caller holds the sweep lock (one sweep at a time across replicas). An action is written to the ledger as
pending with its event before the event is published, and counts as done once the broker acknowledged it; what a
stopped run left pending is published first by the next one (the same event id, which every inbox drops if it did
land). Each step's failure is recorded in the run and the rest goes on; a failed publish leaves its rows pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import SlaDefined
from civicloop_events.tasks import raise_if_cancelled
from civicloop_sla.clock import SlaPolicy

from civicloop_selfheal.domain.decisions import Ledger, decide, wanted
from civicloop_selfheal.domain.events import event_of
from civicloop_selfheal.domain.findings import Finding, Findings, SweepPolicy, find
from civicloop_selfheal.domain.runs import Outcome, RunReport
from civicloop_selfheal.service_layer.ports import (
    DeadLetterSource,
    EventPublisher,
    IntakeOutboxes,
    SweepStore,
)

log = logging.getLogger("civicloop.selfheal.sweep")


@dataclass(frozen=True)
class SweepDeps:
    store: SweepStore
    publisher: EventPublisher
    dead_letters: DeadLetterSource | None
    intake: IntakeOutboxes | None
    policy: SweepPolicy


async def run_sweep(deps: SweepDeps, report: RunReport, *, now: datetime) -> RunReport:
    await deps.store.start_run(report)
    began = time.monotonic()
    try:
        await _steps(deps, report, now=now)
        report.outcome = Outcome.partial if report.errors else Outcome.done
    except Exception as exc:
        raise_if_cancelled(exc)
        log.exception("sweep failed", extra={"run_id": str(report.run_id)})
        report.errors.append(_error("sweep", exc))
        report.outcome = Outcome.failed
    report.finished_at = report.started_at + timedelta(seconds=time.monotonic() - began)
    await deps.store.finish_run(report)
    return report


async def _steps(deps: SweepDeps, report: RunReport, *, now: datetime) -> None:
    store = deps.store
    left = await store.pending()
    if left and await _publish(deps, report, left, step="pending"):
        report.did("republished", len(left))
    if deps.dead_letters is not None:
        try:
            await deps.dead_letters.collect()
        except Exception as exc:
            raise_if_cancelled(exc)
            report.errors.append(_error("dead_letters", exc))
    pending_outboxes = await _submissions_pending(deps, report)
    snap = await store.snapshot()
    policies = _policies(snap.policies, report)
    findings = find(
        requests=snap.requests,
        policies=policies,
        bodies=snap.bodies,
        clusters=snap.clusters,
        cluster_members=snap.cluster_members,
        dead_letters=snap.dead_letters,
        dead_letter_requests=snap.dead_letter_requests,
        submissions_pending=pending_outboxes,
        sweep=deps.policy,
        now=now,
    )
    report.found = findings.counts()
    await _act(deps, report, findings, now=now)
    await store.dead_letters_seen(snap.dead_letters)


async def _act(deps: SweepDeps, report: RunReport, findings: Findings, *, now: datetime) -> None:
    store = deps.store
    subjects = {a.subject for a in wanted(findings, Ledger.empty(), sweep=deps.policy, now=now)}
    if not subjects:
        return
    ledger = await store.ledger(subjects)
    candidates = wanted(findings, ledger, sweep=deps.policy, now=now)
    done = await store.done([a.event_id for a in candidates])
    actions = decide(findings, ledger, done=done, sweep=deps.policy, now=now)
    recorded = await store.record_pending(
        report.run_id, [(a, event_of(a, now=now)) for a in actions], now=now
    )
    if recorded and await _publish(deps, report, recorded, step="actions"):
        kinds = {a.event_id: a.kind.value for a in actions}
        for event in recorded:
            report.did(kinds[event.event_id])


async def _publish(deps: SweepDeps, report: RunReport, events: Sequence[Event[Any]], *, step: str) -> bool:
    try:
        await deps.publisher.publish_many(events)
    except Exception as exc:
        raise_if_cancelled(exc)
        report.errors.append(_error(step, exc))
        return False  # left pending: the next run publishes them
    await deps.store.mark_published([e.event_id for e in events])
    return True


async def _submissions_pending(deps: SweepDeps, report: RunReport) -> int:
    """1 when intake holds a submission pending past the policy's age (then asked to publish it now), else 0."""
    if deps.intake is None:
        return 0
    try:
        age = await deps.intake.oldest_pending_s()
        if age is None or age < deps.policy.pending_after.total_seconds():
            return 0
        report.did("sweep_pending")
        report.did("republished_by_intake", await deps.intake.sweep_now())
        return 1
    except Exception as exc:
        raise_if_cancelled(exc)
        report.errors.append(_error(Finding.submissions_pending.value, exc))
        return 0


def _policies(definitions: Mapping[str, SlaDefined], report: RunReport) -> dict[str, SlaPolicy]:
    policies: dict[str, SlaPolicy] = {}
    for jurisdiction, definition in definitions.items():
        try:
            policies[jurisdiction] = SlaPolicy.of(definition)
        except (
            Exception
        ) as exc:  # a zone this process's tz database lacks: that jurisdiction is judged without
            report.errors.append(_error(f"sla:{jurisdiction}", exc))
    return policies


def _error(step: str, exc: BaseException) -> str:
    """The step and the exception's kind: never its message, which may quote a URL or a value."""
    return f"{step}: {type(exc).__name__}"
