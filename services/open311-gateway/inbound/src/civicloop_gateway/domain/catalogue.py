"""The catalogue and partner fold of `jurisdiction.config`: pure rows from events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import PartnerAuthorised, ServiceDefined


@dataclass(frozen=True)
class ServiceRow:
    jurisdiction_id: str
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str
    attributes: tuple[dict[str, Any], ...]
    active: bool
    changeset: datetime
    last_event_id: UUID


def service_row(event: Event[ServiceDefined]) -> ServiceRow:
    p = event.payload
    return ServiceRow(
        jurisdiction_id=event.jurisdiction_id,
        service_code=p.service_code,
        service_name=p.service_name,
        description=p.description,
        # SL-04: true iff there is a definition to fetch, the same rule GET services/{code} answers by (SD-11).
        metadata=bool(p.attributes),
        type=p.type.value,
        keywords=", ".join(k.strip() for k in p.keywords if k.strip()),  # SL-06: comma-separated
        group=p.group,
        attributes=tuple(a.model_dump(mode="json") for a in p.attributes),
        active=p.active,
        changeset=event.occurred_at,
        last_event_id=event.event_id,
    )


@dataclass(frozen=True)
class PartnerKeyRow:
    jurisdiction_id: str
    client_id: str
    name: str
    key_id: str
    key_sha256: str
    authorised_at: datetime
    last_event_id: UUID


def partner_key_row(event: Event[PartnerAuthorised]) -> PartnerKeyRow:
    p = event.payload
    return PartnerKeyRow(
        jurisdiction_id=event.jurisdiction_id,
        client_id=p.client_id,
        name=p.name,
        key_id=p.key_id,
        key_sha256=p.key_sha256,
        authorised_at=event.occurred_at,
        last_event_id=event.event_id,
    )
