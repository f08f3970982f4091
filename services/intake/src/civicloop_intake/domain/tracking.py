"""What a resident sees when tracking a request, folded from the request's events in log order.

Only public facts enter the history: status changes with their public note (and, closed as not ours, whom to turn
to), public comments, visits planned, moved or cancelled (when and where, as the resident reads it), each body the
request was sent to with the reference that body's back-end gave it, and a merge into an original (its number, never
the agent's note). Internal comments and the routing decision (team, priority) leave no trace here, not even a changed
`updated_at`. geo's placement keeps only its public side: the block-level address and the service areas' names.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_events import CommentAdded, Event, SealedPersonalData, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    CommentVisibility,
    ExternalReferenceAssigned,
    LocationResolved,
    MergedAsDuplicate,
    RequestStatus,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)

from civicloop_intake.domain.folding import fold_by_request


class HistoryKind(str, enum.Enum):
    status = "status"
    comment = "comment"
    sent = "sent"
    merged = "merged"
    visit = "visit"


@dataclass(frozen=True)
class HistoryEntry:
    kind: HistoryKind
    at: datetime
    status: RequestStatus | None = None
    note: str | None = None
    text: str | None = None
    body_id: str | None = None
    external_id: str | None = None
    referred_to: str | None = None  # status: closed as not ours, whom to turn to
    starts_at: datetime | None = None  # visit: when (planned, moved to, or the cancelled one)
    duration_minutes: int | None = None
    address: str | None = None  # visit: where, as the resident reads it


@dataclass(frozen=True)
class ExternalReference:
    """The id a body's back-end gave the request (Open311 service_request_id, work-order number)."""

    body_id: str
    external_id: str


@dataclass(frozen=True)
class PlaceArea:
    """A service area the request lies in, as a resident reads it."""

    kind: str
    name: str


@dataclass(frozen=True)
class TrackedRequest:
    request_number: str
    jurisdiction_id: str
    service_code: str
    description: str
    status: RequestStatus
    submitted_at: datetime
    updated_at: datetime
    contact: SealedPersonalData | None = None
    history: tuple[HistoryEntry, ...] = ()
    external_references: tuple[ExternalReference, ...] = ()
    merged_into: str | None = None
    public_address: str | None = None  # block level, from geo
    service_areas: tuple[PlaceArea, ...] = ()
    link_source: str | None = None  # the poster or campaign link that brought the report (posters.md)


def fold(state: TrackedRequest | None, event: Event[Any]) -> TrackedRequest | None:
    """The view after `event`; the same object when the event changes nothing a resident may see."""
    payload = event.payload
    if isinstance(payload, ServiceRequestSubmitted):
        if state is not None or event.request_id is None:
            return state  # a number is submitted once; a second claim on it is not the resident's request
        return TrackedRequest(
            request_number=event.request_id,
            jurisdiction_id=event.jurisdiction_id,
            service_code=payload.service_code,
            description=payload.description,
            status=RequestStatus.open,
            submitted_at=event.occurred_at,
            updated_at=event.occurred_at,
            contact=payload.contact,
            link_source=payload.link_source,
        )
    if state is None:
        return None  # nothing to track before the submission
    if isinstance(payload, StatusChanged):
        entry = HistoryEntry(
            HistoryKind.status,
            event.occurred_at,
            status=payload.status,
            note=payload.public_note,
            referred_to=payload.referred_to,
        )
        return replace(
            state, status=payload.status, updated_at=event.occurred_at, history=(*state.history, entry)
        )
    if isinstance(payload, CommentAdded) and payload.visibility is CommentVisibility.public:
        entry = HistoryEntry(HistoryKind.comment, event.occurred_at, text=payload.text)
        return replace(state, updated_at=event.occurred_at, history=(*state.history, entry))
    if isinstance(payload, VisitScheduled | VisitRescheduled | VisitCancelled):
        entry = _visit_entry(payload, event.occurred_at)
        return replace(state, updated_at=event.occurred_at, history=(*state.history, entry))
    if isinstance(payload, CategoryChanged):
        # The category the resident's request is now in; staff's public note, if any, reads as a comment.
        history = state.history
        if payload.public_note:
            history = (
                *history,
                HistoryEntry(HistoryKind.comment, event.occurred_at, text=payload.public_note),
            )
        return replace(
            state, service_code=payload.service_code, updated_at=event.occurred_at, history=history
        )
    if isinstance(payload, ExternalReferenceAssigned):
        reference = ExternalReference(payload.body_id, payload.external_id)
        if reference in state.external_references:
            return state  # the same reference again (a re-send, a replay) is no news
        entry = HistoryEntry(
            HistoryKind.sent,
            event.occurred_at,
            text=f"Sent to {payload.body_id}",
            body_id=payload.body_id,
            external_id=payload.external_id,
        )
        return replace(
            state,
            updated_at=event.occurred_at,
            history=(*state.history, entry),
            external_references=(*state.external_references, reference),
        )
    if isinstance(payload, MergedAsDuplicate):
        if state.merged_into is not None:
            return state  # the first merge stands (intake never merges a duplicate twice)
        entry = HistoryEntry(
            HistoryKind.merged,
            event.occurred_at,
            text=f"Merged into {payload.original_request_id}, the same problem reported earlier",
        )
        return replace(
            state,
            merged_into=payload.original_request_id,
            updated_at=event.occurred_at,
            history=(*state.history, entry),
        )
    if isinstance(payload, LocationResolved):
        # Where the request is, not progress on it: no history entry, no new `updated_at`. geo's latest word wins.
        areas = tuple(PlaceArea(a.kind, a.name) for a in payload.service_areas)
        if (state.public_address, state.service_areas) == (payload.public.address, areas):
            return state
        return replace(state, public_address=payload.public.address, service_areas=areas)
    return state


def _visit_entry(payload: VisitScheduled | VisitRescheduled | VisitCancelled, at: datetime) -> HistoryEntry:
    if isinstance(payload, VisitCancelled):
        return HistoryEntry(
            HistoryKind.visit,
            at,
            text="Visit cancelled",
            note=payload.public_note,
            starts_at=payload.starts_at,
        )
    return HistoryEntry(
        HistoryKind.visit,
        at,
        text="Visit planned" if isinstance(payload, VisitScheduled) else "Visit moved",
        note=payload.public_note,
        starts_at=payload.starts_at,
        duration_minutes=payload.duration_minutes,
        address=payload.address,
    )


def fold_many(
    states: Mapping[str, TrackedRequest], events: Sequence[Event[Any]]
) -> dict[str, TrackedRequest]:
    """`events` (log order) folded into `states` (the views before them; a missing one is not tracked yet), as
    folding them one at a time would: request number -> view after the batch, for every view an event changed."""
    return fold_by_request(states, events, fold)
