"""What a resident sees when tracking a request, folded from the request's events in log order.

Only public facts enter the history: status changes with their public note, public comments, and each body the request
was sent to with the reference that body's back-end gave it. Internal comments and the routing decision (team,
priority) leave no trace here, not even a changed `updated_at`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_events import CommentAdded, Event, SealedPersonalData, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import CommentVisibility, ExternalReferenceAssigned, RequestStatus


class HistoryKind(str, enum.Enum):
    status = "status"
    comment = "comment"
    sent = "sent"


@dataclass(frozen=True)
class HistoryEntry:
    kind: HistoryKind
    at: datetime
    status: RequestStatus | None = None
    note: str | None = None
    text: str | None = None
    body_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class ExternalReference:
    """The id a body's back-end gave the request (Open311 service_request_id, work-order number)."""

    body_id: str
    external_id: str


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
        )
    if state is None:
        return None  # nothing to track before the submission
    if isinstance(payload, StatusChanged):
        entry = HistoryEntry(HistoryKind.status, event.occurred_at, status=payload.status, note=payload.public_note)
        return replace(state, status=payload.status, updated_at=event.occurred_at, history=(*state.history, entry))
    if isinstance(payload, CommentAdded) and payload.visibility is CommentVisibility.public:
        entry = HistoryEntry(HistoryKind.comment, event.occurred_at, text=payload.text)
        return replace(state, updated_at=event.occurred_at, history=(*state.history, entry))
    if isinstance(payload, ExternalReferenceAssigned):
        reference = ExternalReference(payload.body_id, payload.external_id)
        if reference in state.external_references:
            return state  # the same reference again (a re-send, a replay) is no news
        entry = HistoryEntry(HistoryKind.sent, event.occurred_at, text=f"Sent to {payload.body_id}",
                             body_id=payload.body_id, external_id=payload.external_id)
        return replace(state, updated_at=event.occurred_at, history=(*state.history, entry),
                       external_references=(*state.external_references, reference))
    return state
