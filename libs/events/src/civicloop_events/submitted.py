"""The `ServiceRequestSubmitted` event of a submission a service accepted, built the same way by every entry point
(intake's web and agent forms, the gateway's Open311 POST): only the actor and the source differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from civicloop_events.envelope import Actor, Event
from civicloop_events.own_words import (
    DESCRIPTION_MAX,
    address_without_own_contact,
    description_without_own_contact,
)
from civicloop_events.payloads import DEFAULT_LANGUAGE, Channel, Location, ServiceRequestSubmitted
from civicloop_events.personal_data import PersonalData, SealedPersonalData


@dataclass(frozen=True, kw_only=True)
class AcceptedReport:
    """A submission a service accepted, normalised: what its `ServiceRequestSubmitted` carries (the contact still in
    clear; it is sealed before the event is built). A service's own accepted type extends it with what it adds."""

    jurisdiction_id: str
    service_code: str
    description: str
    location: Location
    attributes: dict[str, list[str]] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)
    contact: PersonalData | None = None
    language: str = DEFAULT_LANGUAGE
    """the resident's language (BCP 47), which the notifier writes to them in"""
    link_source: str | None = None
    """the poster, kiosk or campaign whose link brought the report (`poster-d3`), if one did"""


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
    # The resident's own name and e-mail address typed into what is published are taken out (own_words).
    location = accepted.location.model_copy(
        update={
            "address_string": address_without_own_contact(accepted.location.address_string, accepted.contact)
        }
    )
    payload = ServiceRequestSubmitted(
        service_code=accepted.service_code,
        description=description_without_own_contact(accepted.description, accepted.contact)[:DESCRIPTION_MAX],
        location=location,
        attributes=accepted.attributes,
        media_urls=accepted.media_urls,
        contact=contact,
        preferred_channel=preferred_channel,
        language=accepted.language,
        link_source=accepted.link_source,
    )
    return Event.create(
        payload,
        request_id=request_number,
        jurisdiction_id=accepted.jurisdiction_id,
        actor=actor,
        source=source,
        event_id=event_id,
    )
