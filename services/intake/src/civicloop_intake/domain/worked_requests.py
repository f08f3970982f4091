"""What staff commands need to know of a request, folded from its events in log order (no IO).

Intake checks every agent command against this state: the status (acknowledge needs `open`, reopen needs `closed`),
the assignment, the priority and category, the visits still planned, and whether the request was merged into
another. It is folded from the whole log (whoever wrote the event: a back-end's status update counts as much as an
agent's), and, while a command is being checked, from intake's own accepted commands the fold has not reached yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    LocationResolved,
    MergedAsDuplicate,
    Priority,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    Routed,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)

from civicloop_intake.domain.folding import fold_by_request


@dataclass(frozen=True)
class Visit:
    """A visit still planned."""

    visit_id: str
    starts_at: datetime
    duration_minutes: int
    address: str


@dataclass(frozen=True)
class WorkedRequest:
    request_number: str
    jurisdiction_id: str
    service_code: str
    status: RequestStatus
    updated_at: datetime
    team_id: str | None = None
    staff_id: str | None = None
    priority: Priority = Priority.normal
    priority_by_staff: bool = False  # staff set it: a later routing's proposal no longer replaces it
    visits: tuple[Visit, ...] = ()
    merged_into: str | None = None
    address: str | None = None  # what a resident reads: geo's block-level address, else the one submitted

    def visit(self, visit_id: str) -> Visit | None:
        return next((v for v in self.visits if v.visit_id == visit_id), None)


def fold(state: WorkedRequest | None, event: Event[Any]) -> WorkedRequest | None:
    """The state after `event`; the same object when the event changes nothing a command checks."""
    p = event.payload
    if isinstance(p, ServiceRequestSubmitted):
        if state is not None or event.request_id is None:
            return state  # a number is submitted once
        return WorkedRequest(
            request_number=event.request_id,
            jurisdiction_id=event.jurisdiction_id,
            service_code=p.service_code,
            status=RequestStatus.open,
            updated_at=event.occurred_at,
            address=p.location.address_string,
        )
    if state is None:
        return None
    at = event.occurred_at
    if isinstance(p, StatusChanged):
        return replace(state, status=p.status, updated_at=at)
    if isinstance(p, RequestAssigned):
        return replace(state, team_id=p.team_id, staff_id=p.staff_id, updated_at=at)
    if isinstance(p, Routed):
        # Routing proposes a team and a priority; what staff already chose is kept.
        priority = state.priority if state.priority_by_staff else p.priority
        return replace(state, team_id=state.team_id or p.team, priority=priority)
    if isinstance(p, PriorityChanged):
        return replace(state, priority=p.priority, priority_by_staff=True, updated_at=at)
    if isinstance(p, CategoryChanged):
        return replace(state, service_code=p.service_code, updated_at=at)
    if isinstance(p, VisitScheduled):
        visit = Visit(p.visit_id, p.starts_at, p.duration_minutes, p.address)
        others = tuple(v for v in state.visits if v.visit_id != p.visit_id)
        return replace(state, visits=(*others, visit), updated_at=at)
    if isinstance(p, VisitRescheduled):
        visits = tuple(
            replace(v, starts_at=p.starts_at, duration_minutes=p.duration_minutes, address=p.address)
            if v.visit_id == p.visit_id
            else v
            for v in state.visits
        )
        return replace(state, visits=visits, updated_at=at)
    if isinstance(p, VisitCancelled):
        return replace(
            state, visits=tuple(v for v in state.visits if v.visit_id != p.visit_id), updated_at=at
        )
    if isinstance(p, MergedAsDuplicate):
        return state if state.merged_into else replace(state, merged_into=p.original_request_id)
    if isinstance(p, LocationResolved):
        return replace(state, address=p.public.address or state.address)
    return state


def fold_many(states: Mapping[str, WorkedRequest], events: Sequence[Event[Any]]) -> dict[str, WorkedRequest]:
    """`events` (log order) folded into `states`: request number -> state after the batch, for every state an
    event changed."""
    return fold_by_request(states, events, fold)
