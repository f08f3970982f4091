"""How each event changes a request as agents see it: a pure fold over the request's events in log order."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    AreaRef,
    BackendUpdateReceived,
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    DuplicateSuspected,
    EventPayload,
    ExternalReferenceAssigned,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    PriorityChanged,
    RequestAssigned,
    RequestImported,
    RequestStatus,
    Routed,
    SendFailed,
    SentToBackend,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)


class DeliveryState(str, enum.Enum):
    """How sending the request to its body is going."""

    queued = "queued"  # routed to a body, no attempt seen yet
    sent = "sent"
    failed = "failed"  # the last attempt failed; another is scheduled at `retry_at`
    given_up = "given_up"  # the last attempt failed and no more automatic retries follow


@dataclass(frozen=True)
class Delivery:
    state: DeliveryState
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class ExternalReference:
    """A back-end's own id for the request."""

    body_id: str
    external_id: str


@dataclass(frozen=True)
class Placement:
    """geo's resolved point and readable address (`LocationResolved`)."""

    lat: float
    long: float
    address: str | None
    method: str
    provider: str
    confidence: float
    resolved_at: datetime


@dataclass(frozen=True)
class Unplaced:
    """geo could not place the request (`LocationUnresolved`): an agent has to."""

    reason: str
    best_confidence: float | None
    detail: str
    at: datetime


@dataclass(frozen=True)
class DuplicateCandidate:
    request_id: str
    service_code: str
    distance_m: float
    submitted_at: datetime
    score: float


class VisitState(str, enum.Enum):
    planned = "planned"
    cancelled = "cancelled"


@dataclass(frozen=True)
class Visit:
    """A visit staff planned, as it stands now (a cancelled one is kept, marked)."""

    visit_id: str
    starts_at: datetime
    duration_minutes: int
    address: str
    state: VisitState
    scheduled_at: datetime
    scheduled_by: str | None
    public_note: str | None = None
    rescheduled_count: int = 0
    changed_at: datetime | None = None  # the latest reschedule or the cancellation


@dataclass(frozen=True)
class AgentRequest:
    """A request's current state. Catalogue-derived fields (service name, service area) are resolved on write."""

    request_number: str
    jurisdiction_id: str
    service_code: str
    description: str
    status: str
    preferred_channel: str
    source: str
    submitted_at: datetime
    updated_at: datetime
    event_count: int
    last_event_id: UUID
    external_status_code: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    lat: float | None = None
    long: float | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)
    media_urls: tuple[str, ...] = ()
    resident_id: UUID | None = None
    closed_at: datetime | None = None
    body_id: str | None = None
    team: str | None = None
    priority: str | None = None
    analysis_codes: tuple[str, ...] = ()
    external_references: tuple[ExternalReference, ...] = ()
    delivery: Delivery | None = None
    imported_from: ExternalReference | None = None
    placement: Placement | None = None
    # None: geo has not placed the request; (): placed, but inside no service area of the jurisdiction.
    service_areas: tuple[AreaRef, ...] | None = None
    inside_jurisdiction: bool | None = None
    unplaced: Unplaced | None = None
    duplicate_candidates: tuple[DuplicateCandidate, ...] = ()
    merged_into: str | None = None
    merged_at: datetime | None = None
    merge_note: str | None = None
    agency_responsible: str | None = (
        None  # the back-end's agency: its import's, then its latest update naming one
    )
    location_flag: str | None = None  # why the import did not use the back-end's point
    # Staff's work (contract 1.6). `team` is routing's proposal until staff assign the request (`assigned_at`), and
    # `priority` until staff set one (`priority_set_at`); then staff's choice: a later routing (after a category
    # change) changes neither.
    assignee: str | None = None  # the staff member working it (a staff id)
    assigned_at: datetime | None = None
    assigned_by: str | None = None  # the actor's id
    status_reason: str | None = None  # the latest status change's reason code (a close or a reopen)
    referred_to: str | None = None  # closed as not ours: whom to turn to
    status_note: str | None = None  # the latest status change's public note
    status_changed_at: datetime | None = None
    status_changed_by: str | None = None
    reopened_at: datetime | None = None
    priority_set_at: datetime | None = None
    reopen_count: int = 0
    public_comments: int = 0
    internal_comments: int = 0
    last_comment_at: datetime | None = None
    visits: tuple[Visit, ...] = ()  # in the order first scheduled
    previous_service_code: str | None = None  # the category before staff's latest change
    # The latest act of a person (resident, staff, a back-end's update): what "dormant" reads. The platform's own
    # machinery (geo, routing, sending) is not activity: a request whose delivery is retried is still untouched.
    last_activity_at: datetime | None = None

    @property
    def geo_area_ids(self) -> tuple[str, ...] | None:
        return None if self.service_areas is None else tuple(a.area_id for a in self.service_areas)


def fold(state: AgentRequest | None, event: Event[Any]) -> AgentRequest | None:
    """The request after `event`; None while the request is unknown (its submission has not been seen)."""
    payload = event.payload
    if isinstance(payload, ServiceRequestSubmitted):
        # The first submission of a number defines the request; a repeated one is recorded but changes no field.
        return submitted(event) if state is None else touched(state, event)
    if state is None:
        return None
    if isinstance(payload, StatusChanged):
        return status_changed(state, event)
    change = _CHANGES.get(type(payload))
    state = touched(state, event)
    return state if change is None else change(state, event)


@dataclass(frozen=True)
class Folded:
    """What a batch of events did to the requests it names."""

    changed: dict[
        str, AgentRequest
    ]  # request number -> its state after the batch, for every request it changed
    unknown: list[
        Event[Any]
    ]  # events of requests whose submission was not seen yet: kept in the history only


def opened_by(states: Mapping[str, AgentRequest], events: Sequence[Event[Any]]) -> set[str]:
    """The requests a submission in `events` may create: those without a state before the batch."""
    return {
        e.request_id
        for e in events
        if e.request_id is not None
        and e.request_id not in states
        and isinstance(e.payload, ServiceRequestSubmitted)
    }


def fold_many(
    states: Mapping[str, AgentRequest],
    events: Sequence[Event[Any]],
    imports_before: Mapping[str, Sequence[RequestImported]],
) -> Folded:
    """`events` (log order) folded into `states` (the requests' states before them; a missing one is unknown), as
    folding them one at a time would.

    A request created by its submission takes the imports already in its history, in log order (see `imported`):
    those before the batch (`imports_before`, asked for the numbers of `opened_by`) then those earlier in it.
    Events without a request are not the agent view's and are skipped.
    """
    current: dict[str, AgentRequest | None] = dict(states)
    imports_seen: dict[str, list[RequestImported]] = {}
    changed: dict[str, AgentRequest] = {}
    unknown: list[Event[Any]] = []
    for event in events:
        number = event.request_id
        if number is None:
            continue
        state = current.get(number)
        new_state = fold(state, event)
        if state is None and new_state is not None:
            for p in (*imports_before.get(number, ()), *imports_seen.get(number, ())):
                new_state = imported(new_state, p)
        if new_state is None:
            unknown.append(event)
            if isinstance(event.payload, RequestImported):
                imports_seen.setdefault(number, []).append(event.payload)
            continue
        current[number] = changed[number] = new_state
    return Folded(changed, unknown)


def submitted(event: Event[Any]) -> AgentRequest:
    p: ServiceRequestSubmitted = event.payload
    return AgentRequest(
        request_number=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        service_code=p.service_code,
        description=p.description,
        status=RequestStatus.open.value,
        preferred_channel=p.preferred_channel.value,
        source=event.source,
        submitted_at=event.occurred_at,
        updated_at=event.occurred_at,
        event_count=1,
        last_event_id=event.event_id,
        address_string=p.location.address_string,
        address_id=p.location.address_id,
        lat=p.location.lat,
        long=p.location.long,
        attributes={k: list(v) for k, v in p.attributes.items()},
        media_urls=tuple(p.media_urls),
        resident_id=p.contact.resident_id if p.contact else None,
        last_activity_at=event.occurred_at,
    )


# geo's verdicts about a request: derived by the platform when it reads the request, not a change of the request.
# They keep their own times (`placement.resolved_at`, `unplaced.at`) and do not move `updated_at`: an imported
# request is placed when it is imported, and would otherwise look years newer than it is (at the top of the queue,
# and "changed" for the `since` filter).
_DERIVED: tuple[type[EventPayload], ...] = (LocationResolved, LocationUnresolved, DuplicateSuspected)
# The platform's machinery: it changes the request, but no person acted (see `AgentRequest.last_activity_at`).
_NOT_ACTIVITY: tuple[type[EventPayload], ...] = (
    *_DERIVED,
    Routed,
    SentToBackend,
    SendFailed,
    ExternalReferenceAssigned,
    RequestImported,
)


def touched(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """Any event of the request counts; all but geo's verdicts move `updated_at` (never backwards: occurred_at may
    be backdated, and an imported request's events carry the back-end's times)."""
    moves = not isinstance(event.payload, _DERIVED)
    acts = not isinstance(event.payload, _NOT_ACTIVITY)
    last_activity = state.last_activity_at
    if acts:
        last_activity = event.occurred_at if last_activity is None else max(last_activity, event.occurred_at)
    return replace(
        state,
        event_count=state.event_count + 1,
        updated_at=max(state.updated_at, event.occurred_at) if moves else state.updated_at,
        last_event_id=event.event_id,
        last_activity_at=last_activity,
    )


def status_changed(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """The status, its reason, referral and public note (each the latest change's: a reopen clears a close's
    referral); leaving `closed` is a reopen."""
    p: StatusChanged = event.payload
    closing = p.status is RequestStatus.closed
    reopening = state.status == RequestStatus.closed.value and not closing
    return replace(
        touched(state, event),
        status=p.status.value,
        external_status_code=p.external_status_code,
        closed_at=(state.closed_at or event.occurred_at) if closing else None,
        status_reason=p.reason,
        referred_to=p.referred_to,
        status_note=p.public_note,
        status_changed_at=event.occurred_at,
        status_changed_by=event.actor.id,
        reopened_at=event.occurred_at if reopening else state.reopened_at,
        reopen_count=state.reopen_count + 1 if reopening else state.reopen_count,
    )


def routed(state: AgentRequest, p: Routed) -> AgentRequest:
    """A routing decision replaces the previous one, but for a team staff assigned and a priority staff set (kept).
    Routing to another body starts its delivery afresh."""
    delivery = state.delivery
    if p.body_id is None:
        delivery = None
    elif delivery is None or p.body_id != state.body_id:
        delivery = Delivery(DeliveryState.queued)
    return replace(
        state,
        body_id=p.body_id,
        team=state.team if state.assigned_at is not None else p.team,
        priority=state.priority if state.priority_set_at is not None else p.priority.value,
        analysis_codes=tuple(p.analysis_codes),
        delivery=delivery,
    )


def _attempts(state: AgentRequest, attempt: int) -> int:
    return max(state.delivery.attempts if state.delivery else 0, attempt)


def sent(state: AgentRequest, p: SentToBackend) -> AgentRequest:
    return replace(state, delivery=Delivery(DeliveryState.sent, attempts=_attempts(state, p.attempt)))


def send_failed(state: AgentRequest, p: SendFailed) -> AgentRequest:
    """A failure with a `retry_at` waits for that retry; one without it is the last attempt."""
    return replace(
        state,
        delivery=Delivery(
            DeliveryState.failed if p.retry_at is not None else DeliveryState.given_up,
            attempts=_attempts(state, p.attempt),
            last_error=p.error,
            retry_at=p.retry_at,
        ),
    )


def reference_assigned(state: AgentRequest, p: ExternalReferenceAssigned) -> AgentRequest:
    """References are kept in the order first assigned; assigning the same one again changes nothing."""
    reference = ExternalReference(p.body_id, p.external_id)
    if reference in state.external_references:
        return state
    return replace(state, external_references=(*state.external_references, reference))


def imported(state: AgentRequest, p: RequestImported) -> AgentRequest:
    """Where the request came from, when a back-end created it; the first import recorded stays. The body it came
    from is its body (an imported request is not routed), its agency the back-end's, and its flag says why the
    back-end's point was not used."""
    if state.imported_from is not None:
        return state
    return replace(
        state,
        imported_from=ExternalReference(p.body_id, p.external_id),
        body_id=state.body_id or p.body_id,
        agency_responsible=p.agency_responsible or state.agency_responsible,
        location_flag=p.location_flag,
    )


def backend_update(state: AgentRequest, p: BackendUpdateReceived) -> AgentRequest:
    """The agency a back-end's update names becomes the request's; an update naming none leaves it."""
    if not p.agency_responsible:
        return state
    return replace(state, agency_responsible=p.agency_responsible)


def location_resolved(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """geo's latest verdict wins: its point, address and areas replace what an earlier verdict said.

    Its areas also win over the projection's own point-in-polygon rule (see `projections.request_area`).
    """
    p: LocationResolved = event.payload
    return replace(
        state,
        placement=Placement(
            p.lat, p.long, p.address, p.method.value, p.provider, p.confidence, event.occurred_at
        ),
        service_areas=tuple(p.service_areas),
        inside_jurisdiction=p.inside_jurisdiction,
        unplaced=None,
    )


def location_unresolved(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """The latest verdict is "cannot place": the request needs placing, and no earlier placement stands."""
    p: LocationUnresolved = event.payload
    return replace(
        state,
        placement=None,
        service_areas=None,
        inside_jurisdiction=None,
        unplaced=Unplaced(p.reason.value, p.best_confidence, p.detail, event.occurred_at),
    )


def duplicates_suspected(state: AgentRequest, p: DuplicateSuspected) -> AgentRequest:
    """The latest check replaces the candidates (best first, as geo ranked them)."""
    return replace(
        state,
        duplicate_candidates=tuple(
            DuplicateCandidate(c.request_id, c.service_code, c.distance_m, c.submitted_at, c.score)
            for c in p.candidates
        ),
    )


def merged(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """The first merge stands: intake refuses to merge a duplicate twice, so a second one is not an agent's act."""
    if state.merged_into is not None:
        return state
    p: MergedAsDuplicate = event.payload
    return replace(
        state, merged_into=p.original_request_id, merged_at=event.occurred_at, merge_note=p.note or None
    )


def assigned(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """An assignment names the team and the staff member (either may be none) that now hold the request."""
    p: RequestAssigned = event.payload
    return replace(
        state,
        team=p.team_id,
        assignee=p.staff_id,
        assigned_at=event.occurred_at,
        assigned_by=event.actor.id,
    )


def commented(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """Counted by visibility; the text stays in the history, where both kinds are shown to staff, marked."""
    p: CommentAdded = event.payload
    public = p.visibility is CommentVisibility.public
    return replace(
        state,
        public_comments=state.public_comments + public,
        internal_comments=state.internal_comments + (not public),
        last_comment_at=event.occurred_at
        if state.last_comment_at is None
        else max(state.last_comment_at, event.occurred_at),
    )


def _with_visit(state: AgentRequest, visit_id: str, change: Callable[[Visit], Visit]) -> AgentRequest:
    """`change` applied to the visit; a visit this view never saw scheduled is left alone (nothing to change)."""
    return replace(state, visits=tuple(change(v) if v.visit_id == visit_id else v for v in state.visits))


def visit_scheduled(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    p: VisitScheduled = event.payload
    if any(v.visit_id == p.visit_id for v in state.visits):
        return state  # a visit id names one visit: scheduling it again is not a new one
    visit = Visit(
        visit_id=p.visit_id,
        starts_at=p.starts_at,
        duration_minutes=p.duration_minutes,
        address=p.address,
        state=VisitState.planned,
        scheduled_at=event.occurred_at,
        scheduled_by=event.actor.id,
        public_note=p.public_note,
    )
    return replace(state, visits=(*state.visits, visit))


def visit_rescheduled(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    p: VisitRescheduled = event.payload
    return _with_visit(
        state,
        p.visit_id,
        lambda v: replace(
            v,
            starts_at=p.starts_at,
            duration_minutes=p.duration_minutes,
            address=p.address,
            public_note=p.public_note if p.public_note is not None else v.public_note,
            rescheduled_count=v.rescheduled_count + 1,
            changed_at=event.occurred_at,
        ),
    )


def visit_cancelled(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    p: VisitCancelled = event.payload
    return _with_visit(
        state,
        p.visit_id,
        lambda v: replace(
            v,
            state=VisitState.cancelled,
            public_note=p.public_note if p.public_note is not None else v.public_note,
            changed_at=event.occurred_at,
        ),
    )


def priority_changed(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """Staff's priority: from now on a routing (after a category change) no longer proposes one."""
    p: PriorityChanged = event.payload
    return replace(state, priority=p.priority.value, priority_set_at=event.occurred_at)


def category_changed(state: AgentRequest, p: CategoryChanged) -> AgentRequest:
    """The new category; its name is read from the catalogue when the row is written. Routing runs again on it."""
    return replace(state, service_code=p.service_code, previous_service_code=p.previous_service_code)


Change = Callable[[AgentRequest, Event[Any]], AgentRequest]


def _by_payload(change: Callable[[AgentRequest, Any], AgentRequest]) -> Change:
    return lambda state, event: change(state, event.payload)


# What each event of a known request changes, once `touched` has counted it; any other event only counts.
_CHANGES: dict[type[EventPayload], Change] = {
    Routed: _by_payload(routed),
    SentToBackend: _by_payload(sent),
    SendFailed: _by_payload(send_failed),
    ExternalReferenceAssigned: _by_payload(reference_assigned),
    RequestImported: _by_payload(imported),
    BackendUpdateReceived: _by_payload(backend_update),
    LocationResolved: location_resolved,
    LocationUnresolved: location_unresolved,
    DuplicateSuspected: _by_payload(duplicates_suspected),
    MergedAsDuplicate: merged,
    RequestAssigned: assigned,
    CommentAdded: commented,
    VisitScheduled: visit_scheduled,
    VisitRescheduled: visit_rescheduled,
    VisitCancelled: visit_cancelled,
    PriorityChanged: priority_changed,
    CategoryChanged: _by_payload(category_changed),
}
