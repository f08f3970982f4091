"""What the agent's history keeps of each event: the envelope and the payload, never the sealed contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event

# Sealed personal data stays on the log; the agent view keeps only the resident reference on the request row.
_NOT_IN_HISTORY = {"contact"}


@dataclass(frozen=True)
class HistoryEntry:
    event_id: UUID
    request_number: str
    jurisdiction_id: str
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor_kind: str
    actor_id: str | None
    source: str
    causation_id: UUID | None
    correlation_id: UUID | None
    summary: dict[str, Any]


def history_entry(event: Event[Any]) -> HistoryEntry:
    return HistoryEntry(
        event_id=event.event_id,
        request_number=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        type=event.type,
        schema_version=event.schema_version,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        actor_kind=event.actor.kind.value,
        actor_id=event.actor.id,
        source=event.source,
        causation_id=event.causation_id,
        correlation_id=event.correlation_id,
        summary=event.payload.model_dump(mode="json", exclude=_NOT_IN_HISTORY),
    )
