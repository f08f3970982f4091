"""The SLA clock: how a request stands against its category's targets to acknowledge and to resolve it.

Pure: a request's clock (`RequestClock`) is folded from its events, a jurisdiction's policy (`SlaPolicy`) from its
`jurisdiction.sla.defined`. `deadlines` gives the instants at which the request's state changes while nothing
happens on it (what a read model stores, so queues filter by state in SQL); `evaluate` judges it at an instant
(the system clock's now unless given), with the time counted so far.

The rules (docs/agents.md, "SLA"):
- both clocks start at the submission; targets count business hours or all hours, as the category's entry says;
- acknowledging is the first status past `open` (acknowledged, in progress, on hold or closed: closing a request
  answers it too); a later reopening does not take it back;
- the resolution clock runs while the request is open, acknowledged or in progress; on hold and closed pause it.
  A reopened request resumes where it stopped: the time it spent closed never counts, so a reopening cannot make
  an honest closure look late, nor give a wrongly closed request a fresh allowance;
- a running target is `due`, then `at_risk` once the policy's share of it is used, then `breached` once its due instant
  has passed; a finished one is `met` (done by then) or `missed`;
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

from civicloop_sla.business_time import AROUND_THE_CLOCK, AroundTheClock, BusinessCalendar

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


def worst(states: Iterable[SlaState]) -> SlaState | None:
    return min(states, key=SEVERITY.__getitem__, default=None)


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
            # A closure repeated (a back-end saying closed again) keeps the instant the request was closed.
            closed_at=(self.closed_at or at) if status is RequestStatus.closed else None,
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
class TargetDeadlines:
    """The instants at which a target's state changes while nothing happens on the request. A read model stores
    them, so a queue filters by SLA state with `now()` in SQL instead of judging every request (which walks every
    day since the submission)."""

    at_risk_from: datetime | None  # None: the clock stopped before reaching the at-risk share
    due_at: datetime | None  # None: the clock stopped before reaching the target
    done_at: datetime | None  # the acknowledgement, or the closure: from then on the state is final

    def state_at(self, now: datetime) -> SlaState:
        """Instants decide every state: a request due on Friday at 17:00 and closed on Saturday missed it, though
        no business hour passed in between."""
        if self.done_at is not None and self.done_at <= now:
            return SlaState.met if self.due_at is None or self.done_at <= self.due_at else SlaState.missed
        if self.due_at is not None and now > self.due_at:
            return SlaState.breached
        if self.at_risk_from is not None and now >= self.at_risk_from:
            return SlaState.at_risk
        return SlaState.due


@dataclass(frozen=True)
class Deadlines:
    acknowledge: TargetDeadlines | None  # None: no target
    resolve: TargetDeadlines | None
    dormant_from: datetime | None  # None: closed, so never dormant

    def state_at(self, now: datetime) -> SlaState | None:
        """The request's state for queues at `now`: the worse of its targets' (None: no target)."""
        states = [t.state_at(now) for t in (self.acknowledge, self.resolve) if t is not None]
        return worst(states)

    def dormant_at(self, now: datetime) -> bool:
        return self.dormant_from is not None and now >= self.dormant_from


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
        return worst(t.state for t in (self.acknowledge, self.resolve) if t is not None)


def _reached(
    calendar: BusinessCalendar | AroundTheClock,
    stretches: Iterable[tuple[datetime, datetime | None]],
    target: timedelta,
) -> datetime | None:
    """The instant the counted time reaches `target`, walking the stretches the clock ran (None: it stopped
    short of it)."""
    remaining = target
    for start, end in stretches:
        if end is None:
            return calendar.add(start, remaining)
        counted = calendar.between(start, end)
        if remaining <= counted:
            return calendar.add(start, remaining)
        remaining -= counted
    return None


def _target_deadlines(
    calendar: BusinessCalendar | AroundTheClock,
    stretches: tuple[tuple[datetime, datetime | None], ...],
    target: timedelta,
    at_risk_at: float,
    done_at: datetime | None,
) -> TargetDeadlines:
    return TargetDeadlines(
        at_risk_from=_reached(calendar, stretches, target * at_risk_at),
        due_at=_reached(calendar, stretches, target),
        done_at=done_at,
    )


def deadlines(clock: RequestClock, policy: SlaPolicy) -> Deadlines:
    """When the request's state will change if nothing happens on it (it changes again with its next event)."""
    targets = policy.targets_for(clock.service_code)
    dormant_from = None
    if clock.status is not RequestStatus.closed:
        dormant_from = (clock.last_activity_at or clock.submitted_at) + policy.dormant_after
    if targets is None:
        return Deadlines(acknowledge=None, resolve=None, dormant_from=dormant_from)
    acknowledge = resolve = None
    if targets.acknowledge is not None:
        # Acknowledging stops its clock; until then it runs from the submission, pauses or not.
        acknowledge = _target_deadlines(
            targets.calendar,
            ((clock.submitted_at, None),),
            targets.acknowledge,
            policy.at_risk_at,
            clock.acknowledged_at,
        )
    if targets.resolve is not None:
        resolve = _target_deadlines(
            targets.calendar, clock.stretches(), targets.resolve, policy.at_risk_at, clock.closed_at
        )
    return Deadlines(acknowledge=acknowledge, resolve=resolve, dormant_from=dormant_from)


def _counted(
    calendar: BusinessCalendar | AroundTheClock,
    stretches: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
) -> timedelta:
    return sum((calendar.between(start, min(end or now, now)) for start, end in stretches), timedelta())


def evaluate(clock: RequestClock, policy: SlaPolicy, now: datetime | None = None) -> SlaStatus:
    """How the request stands at `now` (the system clock's now when not given), with the time counted so far."""
    now = datetime.now(UTC) if now is None else now
    targets = policy.targets_for(clock.service_code)
    due = deadlines(clock, policy)
    dormant = due.dormant_at(now)
    acknowledge = resolve = None
    if targets is not None and targets.acknowledge is not None and due.acknowledge is not None:
        until = clock.acknowledged_at if clock.acknowledged_at is not None else now
        counted = _counted(targets.calendar, ((clock.submitted_at, until),), now)
        acknowledge = TargetStatus(
            due.acknowledge.state_at(now), targets.acknowledge, counted, due.acknowledge.due_at
        )
    if targets is not None and targets.resolve is not None and due.resolve is not None:
        counted = _counted(targets.calendar, clock.stretches(), now)
        resolve = TargetStatus(due.resolve.state_at(now), targets.resolve, counted, due.resolve.due_at)
    return SlaStatus(acknowledge=acknowledge, resolve=resolve, dormant=dormant)
