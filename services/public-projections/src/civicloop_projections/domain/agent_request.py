"""How each event changes a request as agents see it: a pure fold over the request's events in log order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import RequestStatus


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
    return touched(state, event)


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
    )


def touched(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    """Any event of the request counts and moves `updated_at` (never backwards: occurred_at may be backdated)."""
    return replace(
        state,
        event_count=state.event_count + 1,
        updated_at=max(state.updated_at, event.occurred_at),
        last_event_id=event.event_id,
    )


def status_changed(state: AgentRequest, event: Event[Any]) -> AgentRequest:
    p: StatusChanged = event.payload
    closing = p.status is RequestStatus.closed
    return replace(
        touched(state, event),
        status=p.status.value,
        external_status_code=p.external_status_code,
        closed_at=(state.closed_at or event.occurred_at) if closing else None,
    )
