"""The `ServiceRequestSubmitted` event of a submission a service accepted, built the same way by every entry point
(intake's web and agent forms, the gateway's Open311 POST): only the actor and the source differ."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from civicloop_events.envelope import Actor, Event
from civicloop_events.payloads import Channel, Location, ServiceRequestSubmitted
from civicloop_events.personal_data import SealedPersonalData


class AcceptedReport(Protocol):
    """What a service's accepted submission carries into the event (its contact goes in sealed, separately)."""

    @property
    def jurisdiction_id(self) -> str: ...

    @property
    def service_code(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def location(self) -> Location: ...

    @property
    def attributes(self) -> dict[str, list[str]]: ...

    @property
    def media_urls(self) -> list[str]: ...


def submitted_event(
    accepted: AcceptedReport,
    *,
    request_number: str,
    event_id: UUID,
    contact: SealedPersonalData | None,
    actor: Actor,
    source: str,
    preferred_channel: Channel = Channel.none,
) -> Event[Any]:
    """The `ServiceRequestSubmitted` of `accepted` under the request number and event id kept with it."""
    payload = ServiceRequestSubmitted(
        service_code=accepted.service_code,
        description=accepted.description,
        location=accepted.location,
        attributes=accepted.attributes,
        media_urls=accepted.media_urls,
        contact=contact,
        preferred_channel=preferred_channel,
    )
    return Event.create(
        payload,
        request_id=request_number,
        jurisdiction_id=accepted.jurisdiction_id,
        actor=actor,
        source=source,
        event_id=event_id,
    )
