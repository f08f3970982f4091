"""Intake's view of a jurisdiction's service catalogue, folded from `ServiceDefined` (the latest definition wins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civicloop_events import Event, ServiceDefined
from civicloop_events.payloads import ServiceAttribute


@dataclass(frozen=True)
class CatalogueEntry:
    jurisdiction_id: str
    service_code: str
    service_name: str
    active: bool
    attributes: tuple[ServiceAttribute, ...] = ()

    def attribute(self, code: str) -> ServiceAttribute | None:
        return next((a for a in self.attributes if a.code == code), None)


def entry_from(event: Event[Any]) -> CatalogueEntry | None:
    """The catalogue entry an event defines, or None for configuration events intake does not need."""
    payload = event.payload
    if not isinstance(payload, ServiceDefined):
        return None
    return CatalogueEntry(
        jurisdiction_id=event.jurisdiction_id,
        service_code=payload.service_code,
        service_name=payload.service_name,
        active=payload.active,
        attributes=tuple(payload.attributes),
    )
