"""Which events a resident hears about, and what each message needs to say (public facts only).

Pure: an event in, a `Notice` (the message's kind and its parameters) or nothing out. Internal comments, assignments,
priorities and the notifier's own events are never told; a status change is told by what it means to the resident
(acknowledged, closed, reopened, or a change with the agent's public note); a department's update is told by the
status change or public note the poller makes of it, not by the update as received; selfheal's `request.declared_late` is
told as it is: the request is late, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    LateDeclared,
    MergedAsDuplicate,
    MessageKind,
    RequestStatus,
    ServiceRequestSubmitted,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_events.payloads.selfheal import LATE_REASONS


@dataclass(frozen=True)
class Notice:
    """A message to tell a request's residents: its kind and the public facts the text is made of."""

    kind: MessageKind
    params: Mapping[str, Any] = field(default_factory=dict)
    visit: VisitFacts | None = None
    asks_survey: bool = False


@dataclass(frozen=True)
class VisitFacts:
    """A visit as a calendar entry needs it (the `.ics` is built from these)."""

    visit_id: str
    starts_at: datetime
    duration_minutes: int | None
    address: str | None
    cancelled: bool = False
    sequence: int = (
        0  # the calendar entry's SEQUENCE: how many changes of this visit came before (the fold counts)
    )
    recorded_at: datetime | None = None  # when the change was recorded: the calendar file's DTSTAMP


def _note(text: str | None) -> str:
    return (text or "").strip()


def notice_for(event: Event[Any]) -> Notice | None:
    """What the residents of `event`'s request are told about it, or None when they are not told."""
    p = event.payload
    if isinstance(p, ServiceRequestSubmitted):
        return Notice(MessageKind.received)
    if isinstance(p, StatusChanged):
        return _status_notice(p)
    if isinstance(p, CommentAdded):
        if p.visibility is not CommentVisibility.public:
            return None  # an internal note is never sent to a resident
        return Notice(MessageKind.comment, {"note": p.text})
    if isinstance(p, VisitScheduled):
        return Notice(
            MessageKind.visit_scheduled,
            {"starts_at": p.starts_at, "duration_minutes": p.duration_minutes, "address": p.address}
            | {"note": _note(p.public_note)},
            visit=VisitFacts(
                p.visit_id, p.starts_at, p.duration_minutes, p.address, recorded_at=event.occurred_at
            ),
        )
    if isinstance(p, VisitRescheduled):
        return Notice(
            MessageKind.visit_rescheduled,
            {
                "starts_at": p.starts_at,
                "previous_starts_at": p.previous_starts_at,
                "duration_minutes": p.duration_minutes,
                "address": p.address,
                "note": _note(p.public_note),
            },
            visit=VisitFacts(
                p.visit_id, p.starts_at, p.duration_minutes, p.address, recorded_at=event.occurred_at
            ),
        )
    if isinstance(p, VisitCancelled):
        return Notice(
            MessageKind.visit_cancelled,
            {"starts_at": p.starts_at, "note": _note(p.public_note)},
            visit=VisitFacts(
                p.visit_id, p.starts_at, None, None, cancelled=True, recorded_at=event.occurred_at
            ),
        )
    if isinstance(p, MergedAsDuplicate):
        return Notice(MessageKind.merged, {"original": p.original_request_id})
    if isinstance(p, LateDeclared):
        if p.reason not in LATE_REASONS:
            return None  # the platform's own machinery is never the resident's to hear of
        return Notice(MessageKind.late, {"late_reason": p.reason.value, "since": p.since, "due_at": p.due_at})
    if isinstance(p, BackendUpdateReceived):
        # The update as the back-end gave it: the poller follows it with what it means, a `request.status.changed`
        # (the department's note as its public note) or, for a new note alone, a public `request.comment.added`.
        # Those are what residents hear; telling this one too said each department's update twice.
        return None
    return None


def _status_notice(p: StatusChanged) -> Notice | None:
    note = _note(p.public_note)
    if p.status is RequestStatus.closed:
        if p.previous_status is RequestStatus.closed:
            return None
        return Notice(
            MessageKind.closed,
            {"reason": p.reason or "", "referred_to": p.referred_to or "", "note": note},
            asks_survey=True,
        )
    if p.previous_status is RequestStatus.closed:
        return Notice(MessageKind.reopened, {"reason": p.reason or "", "note": note})
    if p.status is RequestStatus.acknowledged:
        return Notice(MessageKind.acknowledged, {"note": note})
    if p.status is p.previous_status and not note:
        return None  # nothing changed a resident could see
    return Notice(MessageKind.status_changed, {"status": p.status.value, "note": note})


_DATES = ("starts_at", "previous_starts_at", "since", "due_at")


def notice_as_json(notice: Notice) -> dict[str, Any]:
    """The notice as stored with its message (public facts only), read back by `notice_from_json`."""
    params = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in notice.params.items()}
    visit = None
    if notice.visit is not None:
        v = notice.visit
        visit = {
            "visit_id": v.visit_id,
            "starts_at": v.starts_at.isoformat(),
            "duration_minutes": v.duration_minutes,
            "address": v.address,
            "cancelled": v.cancelled,
            "sequence": v.sequence,
            "recorded_at": v.recorded_at.isoformat() if v.recorded_at else None,
        }
    return {"kind": notice.kind.value, "params": params, "visit": visit, "asks_survey": notice.asks_survey}


def notice_from_json(data: Mapping[str, Any]) -> Notice:
    params = {k: (datetime.fromisoformat(v) if k in _DATES and v else v) for k, v in data["params"].items()}
    visit = None
    if data.get("visit"):
        v = data["visit"]
        visit = VisitFacts(
            v["visit_id"],
            datetime.fromisoformat(v["starts_at"]),
            v["duration_minutes"],
            v["address"],
            v["cancelled"],
            v.get("sequence", 0),
            datetime.fromisoformat(v["recorded_at"]) if v.get("recorded_at") else None,
        )
    return Notice(MessageKind(data["kind"]), params, visit=visit, asks_survey=bool(data.get("asks_survey")))
