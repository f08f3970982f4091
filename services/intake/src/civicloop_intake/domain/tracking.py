"""What a resident sees when tracking a request, folded from the request's events in log order.

Only public facts enter the history: status changes with their public note, and public comments. Internal comments
leave no trace here, not even a changed `updated_at`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_events import CommentAdded, Event, SealedPersonalData, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import CommentVisibility, RequestStatus


class HistoryKind(str, enum.Enum):
    status = "status"
    comment = "comment"


@dataclass(frozen=True)
class HistoryEntry:
    kind: HistoryKind
    at: datetime
    status: RequestStatus | None = None
    note: str | None = None
    text: str | None = None


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
    return state
