"""selfheal's view of a request, a body and a hot spot, folded from the log (pure).

It keeps only what the sweep judges by: where the request stands (status, team, assignee), when it last moved and
who moved it, its delivery to its body, its latest visit, its failed notifications and its SLA clock
(`civicloop_sla.clock`). Never a resident's contact, a note or a description.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from civicloop_events import ActorKind, Event
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    DeliveryRequeued,
    LocationCorrected,
    MergedAsDuplicate,
    NotificationFailed,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    Routed,
    SendFailed,
    SentToBackend,
    ServiceRequestSubmitted,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_sla.clock import RequestClock, clock_after

# Events a staff member causes that show somebody is looking at the request (a hot spot's members included).
STAFF_WORK = (
    StatusChanged,
    CommentAdded,
    RequestAssigned,
    VisitScheduled,
    VisitRescheduled,
    VisitCancelled,
    PriorityChanged,
    CategoryChanged,
    LocationCorrected,
    MergedAsDuplicate,
)


@dataclass(frozen=True)
class RequestView:
    number: str
    jurisdiction_id: str
    service_code: str
    submitted_at: datetime
    clock: RequestClock
    status: RequestStatus = RequestStatus.open
    merged: bool = False
    team_id: str | None = None
    assignee: str | None = None
    last_public_update_at: datetime | None = None  # a status change or a public comment
    last_staff_action_at: datetime | None = None
    body_id: str | None = None
    routed_at: datetime | None = None
    sent_at: datetime | None = None
    given_up_at: datetime | None = (
        None  # the last send failed with no retry left (cleared by a send or requeue)
    )
    send_attempts: int = 0
    visit_id: str | None = None
    visit_ends_at: datetime | None = None  # the latest scheduled visit's start + duration (None: cancelled)
    notification_failed_at: datetime | None = None  # a message with no channel left to fall back to

    @property
    def closed(self) -> bool:
        """Closed, or merged into another request (whose own course the resident follows): never acted on."""
        return self.merged or self.status is RequestStatus.closed

    @classmethod
    def submitted(cls, event: Event[Any]) -> RequestView:
        payload: ServiceRequestSubmitted = event.payload
        return cls(
            number=str(event.request_id),
            jurisdiction_id=event.jurisdiction_id,
            service_code=payload.service_code,
            submitted_at=event.occurred_at,
            clock=RequestClock.submitted(payload.service_code, event.occurred_at),
        )


def request_after(view: RequestView | None, event: Event[Any]) -> RequestView | None:
    """The view after one of the request's events, in log order (None until its submission is seen)."""
    payload, at = event.payload, event.occurred_at
    if isinstance(payload, ServiceRequestSubmitted):
        return RequestView.submitted(event) if view is None else view
    if view is None:
        return None
    clock = clock_after(view.clock, event) or view.clock
    view = replace(view, clock=clock)
    if event.actor.kind is ActorKind.agent and isinstance(payload, STAFF_WORK):
        view = replace(view, last_staff_action_at=_latest(view.last_staff_action_at, at))
    if isinstance(payload, StatusChanged):
        return replace(
            view, status=payload.status, last_public_update_at=_latest(view.last_public_update_at, at)
        )
    if isinstance(payload, CommentAdded):
        if payload.visibility is CommentVisibility.public:
            return replace(view, last_public_update_at=_latest(view.last_public_update_at, at))
        return view
    if isinstance(payload, CategoryChanged):
        return replace(
            view, service_code=payload.service_code, clock=clock.recategorised(payload.service_code)
        )
    if isinstance(payload, MergedAsDuplicate):
        return replace(view, merged=True)
    if isinstance(payload, RequestAssigned):
        return replace(view, team_id=payload.team_id, assignee=payload.staff_id)
    if isinstance(payload, VisitScheduled | VisitRescheduled):
        ends = payload.starts_at + timedelta(minutes=payload.duration_minutes)
        return replace(view, visit_id=payload.visit_id, visit_ends_at=ends)
    if isinstance(payload, VisitCancelled):
        if payload.visit_id == view.visit_id:
            return replace(view, visit_id=None, visit_ends_at=None)
        return view
    return _delivery_after(view, event)


def _delivery_after(view: RequestView, event: Event[Any]) -> RequestView:
    payload, at = event.payload, event.occurred_at
    if isinstance(payload, Routed):
        return replace(
            view,
            body_id=payload.body_id,
            routed_at=at if payload.body_id else None,
            sent_at=None,
            given_up_at=None,
            team_id=view.team_id or payload.team,
        )
    if isinstance(payload, SentToBackend):
        return replace(view, sent_at=at, given_up_at=None, send_attempts=payload.attempt)
    if isinstance(payload, SendFailed):
        given_up = at if payload.retry_at is None else None
        return replace(view, given_up_at=given_up, send_attempts=payload.attempt)
    if isinstance(payload, DeliveryRequeued):
        return replace(view, given_up_at=None, send_attempts=0)
    if isinstance(payload, NotificationFailed) and payload.fallback_channel is None:
        return replace(view, notification_failed_at=at)
    return view


def _latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None else max(current, at)


@dataclass(frozen=True)
class BodyView:
    jurisdiction_id: str
    body_id: str
    paused: bool = False
    failing_since: datetime | None = None  # a poll streak outbound announced and has not seen end
    failures: int = 0


@dataclass(frozen=True)
class ClusterView:
    cluster_id: str
    jurisdiction_id: str
    service_code: str
    request_numbers: tuple[str, ...]
    detected_at: datetime
    area_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """A record a consumer gave up on: where it was, who gave up and why; never its value."""

    topic: str
    partition: int
    offset: int
    consumer: str
    reason: str
    dead_lettered_at: datetime
    request_number: str | None = None
    jurisdiction_id: str | None = None
