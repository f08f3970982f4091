"""The SLA read model's fold: each request's clock and the instants at which its SLA state changes.

Pure. A request's clock (`sla.RequestClock`) is folded from its events; its deadlines (`sla.deadlines`) are computed
from that clock and the jurisdiction's latest `jurisdiction.sla.defined`, and stored with it as an `SlaRow`. Both
are functions of the clock and the policy alone, so the order in which the request topic and the configuration topic
are applied never changes the stored row: a request event recomputes its request with the policy known then, a new
definition recomputes every request of its jurisdiction from their stored clocks.

Beyond what `sla.clock_after` reads, the agents' work events count: a category change applies the new category's
targets (the time already counted stays) and, like an assignment, a visit or a priority change, is activity (it
moves the dormant instant); a merge into another request stops a duplicate's clocks as a closure does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    CategoryChanged,
    MergedAsDuplicate,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    SlaDefined,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_sla.business_time import UnknownTimeZone
from civicloop_sla.clock import (
    RequestClock,
    SlaPolicy,
    SlaState,
    TargetDeadlines,
    clock_after,
    deadlines,
    worst,
)

log = logging.getLogger("civicloop.projections.sla")

# Staff working the request: activity, though the clock's targets and pauses stay as they were.
_ACTIVITY = (RequestAssigned, VisitScheduled, VisitRescheduled, VisitCancelled, PriorityChanged)


def clock_after_event(clock: RequestClock | None, event: Event[Any]) -> RequestClock | None:
    """`sla.clock_after`, with the agents' work events."""
    payload = event.payload
    if clock is not None and isinstance(payload, CategoryChanged):
        return clock.recategorised(payload.service_code).touched(event.occurred_at)
    if clock is not None and isinstance(payload, _ACTIVITY):
        return clock.touched(event.occurred_at)
    if clock is not None and isinstance(payload, MergedAsDuplicate):
        # Its original carries the work from now on (commands refuse a merged duplicate): the merge answers and
        # settles it as a closure would, so a duplicate never sits breached or dormant in a queue.
        return clock.status_changed(RequestStatus.closed, event.occurred_at)
    return clock_after(clock, event)


@dataclass(frozen=True)
class RequestSla:
    """What the fold keeps of one request: its jurisdiction and its clock."""

    request_number: str
    jurisdiction_id: str
    clock: RequestClock


def fold_requests(known: Mapping[str, RequestSla], events: Iterable[Event[Any]]) -> dict[str, RequestSla]:
    """The requests whose clocks the events (log order) changed, after them. An event of a request never submitted
    changes nothing: the clock starts with the submission."""
    folded = dict(known)
    changed: dict[str, RequestSla] = {}
    for event in events:
        number = event.request_id
        if number is None:
            continue
        before = folded.get(number)
        clock = clock_after_event(before.clock if before else None, event)
        if clock is None or (before is not None and clock == before.clock):
            continue
        jurisdiction = before.jurisdiction_id if before else event.jurisdiction_id
        folded[number] = changed[number] = RequestSla(number, jurisdiction, clock)
    return changed


def policy_of(definition: SlaDefined) -> SlaPolicy | None:
    """The policy a definition gives; None when it names a time zone this installation does not know (the
    jurisdiction keeps the policy it had, and the log keeps the definition for a later release)."""
    try:
        return SlaPolicy.of(definition)
    except UnknownTimeZone as error:
        log.warning("SLA definition with an unknown time zone ignored", extra={"time_zone": str(error)})
        return None


@dataclass(frozen=True)
class TargetRow:
    """One target as stored: its length, and the instants at which its state changes."""

    minutes: int | None  # None: the category has no such target (the other fields are None too)
    at_risk_from: datetime | None
    due_at: datetime | None
    done_at: datetime | None

    @classmethod
    def of(cls, target: timedelta | None, due: TargetDeadlines | None) -> TargetRow:
        if target is None or due is None:
            return cls(None, None, None, None)
        return cls(int(target.total_seconds() // 60), due.at_risk_from, due.due_at, due.done_at)

    def state_at(self, now: datetime) -> SlaState | None:
        if self.minutes is None:
            return None
        return TargetDeadlines(self.at_risk_from, self.due_at, self.done_at).state_at(now)


@dataclass(frozen=True)
class SlaRow:
    """A request's row of the SLA table. States are decided at read time from these instants and now."""

    request_number: str
    jurisdiction_id: str
    service_code: str
    clock: RequestClock
    acknowledge: TargetRow
    resolve: TargetRow
    dormant_from: datetime | None

    def state_at(self, now: datetime) -> SlaState | None:
        """The state a queue reads at `now` (the SQL function `projections.sla_state` is its twin)."""
        return worst(s for s in (self.acknowledge.state_at(now), self.resolve.state_at(now)) if s is not None)

    def dormant_at(self, now: datetime) -> bool:
        return self.dormant_from is not None and now >= self.dormant_from


def sla_row(request: RequestSla, policy: SlaPolicy | None) -> SlaRow:
    """The row of a request under its jurisdiction's policy (none yet: no targets, never dormant)."""
    clock = request.clock
    acknowledge = resolve = TargetRow(None, None, None, None)
    dormant_from = None
    if policy is not None:
        due = deadlines(clock, policy)
        targets = policy.targets_for(clock.service_code)
        if targets is not None:
            acknowledge = TargetRow.of(targets.acknowledge, due.acknowledge)
            resolve = TargetRow.of(targets.resolve, due.resolve)
        dormant_from = due.dormant_from
    return SlaRow(
        request_number=request.request_number,
        jurisdiction_id=request.jurisdiction_id,
        service_code=clock.service_code,
        clock=clock,
        acknowledge=acknowledge,
        resolve=resolve,
        dormant_from=dormant_from,
    )


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def clock_to_json(clock: RequestClock) -> dict[str, Any]:
    """The clock as JSON (instants as ISO 8601 with their offset), so a new definition can recompute deadlines
    without the request's events."""
    return {
        "service_code": clock.service_code,
        "submitted_at": clock.submitted_at.isoformat(),
        "status": clock.status.value,
        "acknowledged_at": _iso(clock.acknowledged_at),
        "ran": [[start.isoformat(), end.isoformat()] for start, end in clock.ran],
        "running_since": _iso(clock.running_since),
        "closed_at": _iso(clock.closed_at),
        "last_activity_at": _iso(clock.last_activity_at),
    }


def clock_from_json(data: Mapping[str, Any]) -> RequestClock:
    submitted_at = datetime.fromisoformat(data["submitted_at"])
    return RequestClock(
        service_code=data["service_code"],
        submitted_at=submitted_at,
        status=RequestStatus(data["status"]),
        acknowledged_at=_instant(data["acknowledged_at"]),
        ran=tuple((datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in data["ran"]),
        running_since=_instant(data["running_since"]),
        closed_at=_instant(data["closed_at"]),
        last_activity_at=_instant(data["last_activity_at"]),
    )
