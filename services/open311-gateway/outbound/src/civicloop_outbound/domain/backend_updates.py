"""What of an agent's work reaches the body that already has the request (pure, no IO).

* An agent's reopening (a `request.status.changed` leaving `closed`) and an agent's public comment go to the body
  the request was last delivered to, so a reopened problem does not stay closed at the department. Internal notes,
  assignments, visits and anything a back-end or a partner did are never sent (a back-end's own update must not
  come back to it).
* A category change that routes the request to another body delivers it there; the body that had it is sent a
  transfer notice (`transfer`), so it can stop working on it.
* Only bodies reached by email or Open311 take updates; a webhook body is not sent them.

Each update names the event it stands for (`event_id`): the queue keeps one row per (request, body, event), so the
same event applied twice queues one update.
"""

from __future__ import annotations

import enum
from typing import Any
from uuid import UUID

from civicloop_events import ActorKind, Event
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    RequestStatus,
    SendMethod,
    StatusChanged,
)
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TAKES_UPDATES = frozenset({SendMethod.email, SendMethod.open311})
# What a back-end answers to `POST servicerequestupdates` when it has no such endpoint (not GeoReport v2 itself).
REFUSING_STATUSES = frozenset({404, 405, 501})


class UpdateKind(str, enum.Enum):
    reopen = "reopen"
    comment = "comment"
    transfer = "transfer"


class BackendUpdate(BaseModel):
    """One update for a body, snapshotted into its queue row (public text only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: UpdateKind
    event_id: UUID = Field(description="the event the update stands for")
    occurred_at: AwareDatetime
    text: str = Field(min_length=1, max_length=4000, description="public: what the body is told")
    media_urls: list[str] = Field(default_factory=list)
    new_body_name: str | None = Field(default=None, description="a transfer: the body the request moved to")


def by_staff(event: Event[Any]) -> bool:
    return event.actor.kind is ActorKind.agent


def reopen_text(payload: StatusChanged) -> str:
    if payload.public_note:
        return payload.public_note
    return f"Reopened ({payload.reason.replace('_', ' ')})." if payload.reason else "Reopened."


def update_of(event: Event[Any]) -> BackendUpdate | None:
    """The update an event sends to the request's body, or None when it sends none."""
    if not by_staff(event):
        return None
    p = event.payload
    if (
        isinstance(p, StatusChanged)
        and p.previous_status is RequestStatus.closed
        and p.status is not RequestStatus.closed
    ):
        return BackendUpdate(
            kind=UpdateKind.reopen,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            text=reopen_text(p),
        )
    if isinstance(p, CommentAdded) and p.visibility is CommentVisibility.public:
        return BackendUpdate(
            kind=UpdateKind.comment,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            text=p.text,
            media_urls=list(p.media_urls),
        )
    return None


def transfer_notice(event: Event[Any], *, public_note: str | None, new_body_name: str) -> BackendUpdate:
    """What the body that had the request is told when a category change moves it elsewhere (the staff note of the
    change stays internal; its public note is used when given)."""
    text = public_note or f"This request has moved to {new_body_name}: no further action is needed here."
    return BackendUpdate(
        kind=UpdateKind.transfer,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        text=text,
        new_body_name=new_body_name,
    )


def open311_status(update: BackendUpdate, backend_status: str | None) -> str:
    """The `status` of the POST (upper case, CHECKLIST ST-02): a reopening opens, a transfer closes it at that body,
    a comment leaves the status where the back-end last said it was (`backend_status`, CivicLoop's name; unknown:
    open), so a comment never reopens or closes anything."""
    if update.kind is UpdateKind.reopen:
        return "OPEN"
    if update.kind is UpdateKind.transfer:
        return "CLOSED"
    return "CLOSED" if backend_status == RequestStatus.closed.value else "OPEN"


def refuses_updates(http_status: int) -> bool:
    return http_status in REFUSING_STATUSES
