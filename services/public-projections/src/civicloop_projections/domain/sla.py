"""The SLA clock: how a request stands against its category's targets to acknowledge and to resolve it.

Pure: a request's clock (`RequestClock`) is folded from its events, a jurisdiction's policy (`SlaPolicy`) from its
`jurisdiction.sla.defined`, and `evaluate` reads both at an instant (the system clock's now unless given).

The rules (docs/agents.md, "SLA"):
- both clocks start at the submission; targets count business hours or all hours, as the category's entry says;
- acknowledging is the first status past `open` (acknowledged, in progress, on hold or closed: closing a request
  answers it too); a later reopening does not take it back;
- the resolution clock runs while the request is open, acknowledged or in progress; on hold and closed pause it.
  A reopened request resumes where it stopped: the time it spent closed never counts, so a reopening cannot make
  an honest closure look late, nor give a wrongly closed request a fresh allowance;
- a running target is `due`, then `at_risk` once the policy's share of it is used, then `breached` from the instant
  it falls due; a finished one is `met` (done by then) or `missed`;
- a request not closed is dormant when nothing happened on it (submission, status, comment, placing by an agent)
  for the policy's number of calendar days: dormancy is neglect as residents feel it, so every day counts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    CommentAdded,
    LocationCorrected,
    RequestStatus,
    ServiceRequestSubmitted,
    SlaClock,
    SlaDefined,
    SlaTargets,
    StatusChanged,
)

from civicloop_projections.domain.business_time import AROUND_THE_CLOCK, AroundTheClock, BusinessCalendar

# While the request is in one of these, the resolution clock runs.
RUNNING = frozenset({RequestStatus.open, RequestStatus.acknowledged, RequestStatus.in_progress})


class SlaState(str, enum.Enum):
    due = "due"  # running, with more than the at-risk share of the target left
    at_risk = "at_risk"  # running, the at-risk share of the target used up
    breached = "breached"  # not done, and its due instant has passed
    met = "met"  # done by its due instant
    missed = "missed"  # done, but after its due instant


# The order a queue sorts a request's overall state by: the worst first.
SEVERITY = {SlaState.breached: 0, SlaState.at_risk: 1, SlaState.due: 2, SlaState.missed: 3, SlaState.met: 4}


@dataclass(frozen=True)
class Targets:
    acknowledge: timedelta | None
    resolve: timedelta | None
    calendar: BusinessCalendar | AroundTheClock


@dataclass(frozen=True)
class SlaPolicy:
    """A jurisdiction's service levels, ready to count with."""

    by_category: Mapping[str, Targets]
    default: Targets | None
    at_risk_at: float
    dormant_after: timedelta

    @classmethod
    def of(cls, definition: SlaDefined) -> SlaPolicy:
        calendar = BusinessCalendar.of(definition.time_zone, definition.opening_hours, definition.holidays)

        def targets(entry: SlaTargets) -> Targets:
            return Targets(
                acknowledge=_minutes(entry.acknowledge_within_minutes),
                resolve=_minutes(entry.resolve_within_minutes),
                calendar=calendar if entry.clock is SlaClock.business_hours else AROUND_THE_CLOCK,
            )

        return cls(
            by_category={entry.service_code: targets(entry) for entry in definition.categories},
            default=targets(definition.default) if definition.default else None,
            at_risk_at=definition.at_risk_at,
            dormant_after=timedelta(days=definition.dormant_after_days),
        )

    def targets_for(self, service_code: str) -> Targets | None:
        return self.by_category.get(service_code, self.default)


def _minutes(minutes: int | None) -> timedelta | None:
    return None if minutes is None else timedelta(minutes=minutes)


@dataclass(frozen=True)
class RequestClock:
    """What the SLA needs of one request, folded from its events in log order."""

    service_code: str
    submitted_at: datetime
    status: RequestStatus = RequestStatus.open
    acknowledged_at: datetime | None = None
    # Finished stretches during which the resolution clock ran, and the start of the current one (None: paused).
    ran: tuple[tuple[datetime, datetime], ...] = ()
    running_since: datetime | None = None
    closed_at: datetime | None = None
    last_activity_at: datetime | None = None

    @classmethod
    def submitted(cls, service_code: str, at: datetime) -> RequestClock:
        return cls(service_code=service_code, submitted_at=at, running_since=at, last_activity_at=at)

    def status_changed(self, status: RequestStatus, at: datetime) -> RequestClock:
        acknowledged_at = self.acknowledged_at
        if acknowledged_at is None and status is not RequestStatus.open:
            acknowledged_at = at
        ran, running_since = self.ran, self.running_since
        if status in RUNNING and running_since is None:
            running_since = at
        elif status not in RUNNING and running_since is not None:
            ran, running_since = (*ran, (running_since, max(at, running_since))), None
        return replace(
            self,
            status=status,
            acknowledged_at=acknowledged_at,
            ran=ran,
            running_since=running_since,
            closed_at=at if status is RequestStatus.closed else None,
        ).touched(at)

    def recategorised(self, service_code: str) -> RequestClock:
        """The targets follow the category; the time already counted stays (it is the resident's wait)."""
        return replace(self, service_code=service_code)

    def touched(self, at: datetime) -> RequestClock:
        latest = at if self.last_activity_at is None else max(self.last_activity_at, at)
        return replace(self, last_activity_at=latest)

    def stretches(self) -> tuple[tuple[datetime, datetime | None], ...]:
        """The stretches the resolution clock ran, the current one open-ended (None) when it runs."""
        current = () if self.running_since is None else ((self.running_since, None),)
        return (*self.ran, *current)


def clock_after(clock: RequestClock | None, event: Event[Any]) -> RequestClock | None:
    """The clock after one of the request's events (events it does not read leave it as it was)."""
    payload, at = event.payload, event.occurred_at
    if isinstance(payload, ServiceRequestSubmitted):
        return RequestClock.submitted(payload.service_code, at) if clock is None else clock
    if clock is None:
        return None
    if isinstance(payload, StatusChanged):
        return clock.status_changed(payload.status, at)
    if isinstance(payload, CommentAdded | LocationCorrected):
        return clock.touched(at)
    return clock


def fold_clock(events: Iterable[Event[Any]]) -> RequestClock | None:
    clock: RequestClock | None = None
    for event in events:
        clock = clock_after(clock, event)
    return clock


@dataclass(frozen=True)
class TargetStatus:
    state: SlaState
    target: timedelta
    counted: timedelta  # the time the target counts that has passed (up to `now`, or until it was done)
    due_at: datetime | None  # when it fell or falls due; None while paused before reaching it


@dataclass(frozen=True)
class SlaStatus:
    acknowledge: TargetStatus | None
    resolve: TargetStatus | None
    dormant: bool

    @property
    def state(self) -> SlaState | None:
        """The request's state for queues: the worse of its targets' (None: no target)."""
        states = [t.state for t in (self.acknowledge, self.resolve) if t is not None]
        return min(states, key=SEVERITY.__getitem__) if states else None


def _state(
    due_at: datetime | None,
    done_at: datetime | None,
    counted: timedelta,
    target: timedelta,
    at_risk_at: float,
    now: datetime,
) -> SlaState:
    """Instants decide met and breached (a request closed on Saturday after a deadline of Friday 17:00 missed it,
    though no business hour passed in between); the share of the target counted decides at risk."""
    if done_at is not None:
        # No due instant: the clock stopped before the target was used up.
        return SlaState.met if due_at is None or done_at <= due_at else SlaState.missed
    if due_at is not None and now > due_at:
        return SlaState.breached
    return SlaState.at_risk if counted >= target * at_risk_at else SlaState.due


def _due_at(
    calendar: BusinessCalendar | AroundTheClock,
    stretches: Iterable[tuple[datetime, datetime | None]],
    target: timedelta,
) -> datetime | None:
    """The instant the counted time reaches the target, walking the stretches the clock ran."""
    remaining = target
    for start, end in stretches:
        if end is None:
            return calendar.add(start, remaining)
        counted = calendar.between(start, end)
        if remaining <= counted:
            return calendar.add(start, remaining)
        remaining -= counted
    return None


def _acknowledge(
    clock: RequestClock, targets: Targets, at_risk_at: float, now: datetime
) -> TargetStatus | None:
    target = targets.acknowledge
    if target is None:
        return None
    calendar = targets.calendar
    due_at = calendar.add(clock.submitted_at, target)
    done_at = (
        clock.acknowledged_at if clock.acknowledged_at is not None and clock.acknowledged_at <= now else None
    )
    counted = calendar.between(clock.submitted_at, done_at or now)
    return TargetStatus(_state(due_at, done_at, counted, target, at_risk_at, now), target, counted, due_at)


def _resolve(clock: RequestClock, targets: Targets, at_risk_at: float, now: datetime) -> TargetStatus | None:
    target = targets.resolve
    if target is None:
        return None
    calendar = targets.calendar
    stretches = clock.stretches()
    counted = sum((calendar.between(start, end or now) for start, end in stretches), timedelta())
    due_at = _due_at(calendar, stretches, target)
    state = _state(due_at, clock.closed_at, counted, target, at_risk_at, now)
    return TargetStatus(state, target, counted, due_at)


def evaluate(clock: RequestClock, policy: SlaPolicy, now: datetime | None = None) -> SlaStatus:
    """How the request stands at `now` (the system clock's now when not given)."""
    now = datetime.now(UTC) if now is None else now
    targets = policy.targets_for(clock.service_code)
    last_activity = clock.last_activity_at or clock.submitted_at
    dormant = clock.status is not RequestStatus.closed and now - last_activity >= policy.dormant_after
    if targets is None:
        return SlaStatus(acknowledge=None, resolve=None, dormant=dormant)
    return SlaStatus(
        acknowledge=_acknowledge(clock, targets, policy.at_risk_at, now),
        resolve=_resolve(clock, targets, policy.at_risk_at, now),
        dormant=dormant,
    )
