"""Change a jurisdiction's catalogue: every change is a `ServiceDefined` event on `jurisdiction.config`.

The view (gateway.services) follows from the log; a change waits, bounded, until the view has applied it, so an
administrator who lists right after a change sees it. Existence checks read the view: a create of a code that is
active is refused, an update or deactivation of a code the view does not know is a 404.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from civicloop_events import Actor, ActorKind, Event, ServiceDefined

from civicloop_gateway.domain.catalogue_admin import ServiceFields, ServiceInput, deactivated
from civicloop_gateway.domain.submit_errors import NotFound, Rejected
from civicloop_gateway.domain.submit_record import LogPosition
from civicloop_gateway.service_layer.submit_ports import EventLog

ADMIN_ACTOR = Actor(kind=ActorKind.agent, id="open311-admin")
ADMIN_SOURCE = "admin"


class AlreadyDefined(Rejected):
    status = 409


class CatalogueView(ABC):
    @abstractmethod
    async def services(self, jurisdiction_id: str) -> list[ServiceDefined]: ...

    @abstractmethod
    async def service(self, jurisdiction_id: str, service_code: str) -> ServiceDefined | None: ...

    @abstractmethod
    async def wait_until_applied(self, position: LogPosition) -> bool: ...


@dataclass(frozen=True)
class CatalogueChange:
    definition: ServiceDefined
    event_id: str
    position: LogPosition
    applied: bool  # the view shows the change already


async def _publish(
    definition: ServiceDefined, jurisdiction_id: str, *, log: EventLog, view: CatalogueView
) -> CatalogueChange:
    event = Event.create(
        definition, request_id=None, jurisdiction_id=jurisdiction_id, actor=ADMIN_ACTOR, source=ADMIN_SOURCE
    )
    position = await log.publish(event)
    applied = await view.wait_until_applied(position)
    return CatalogueChange(definition, str(event.event_id), position, applied)


async def create_service(
    jurisdiction_id: str, service: ServiceInput, *, log: EventLog, view: CatalogueView
) -> CatalogueChange:
    """A new service; a withdrawn one may be defined again (it comes back active)."""
    current = await view.service(jurisdiction_id, service.service_code)
    if current is not None and current.active:
        raise AlreadyDefined(
            f"service_code {service.service_code!r} already exists in jurisdiction "
            f"{jurisdiction_id!r}; change it with PUT."
        )
    return await _publish(service.definition(service.service_code), jurisdiction_id, log=log, view=view)


async def update_service(
    jurisdiction_id: str, service_code: str, fields: ServiceFields, *, log: EventLog, view: CatalogueView
) -> CatalogueChange:
    """Replace a service's definition (the latest definition wins); it keeps being active or withdrawn."""
    current = await _existing(jurisdiction_id, service_code, view)
    return await _publish(
        fields.definition(service_code, active=current.active), jurisdiction_id, log=log, view=view
    )


async def deactivate_service(
    jurisdiction_id: str, service_code: str, *, log: EventLog, view: CatalogueView
) -> CatalogueChange:
    current = await _existing(jurisdiction_id, service_code, view)
    return await _publish(deactivated(current), jurisdiction_id, log=log, view=view)


async def _existing(jurisdiction_id: str, service_code: str, view: CatalogueView) -> ServiceDefined:
    current = await view.service(jurisdiction_id, service_code)
    if current is None:
        raise NotFound(f"service_code {service_code!r} not found in jurisdiction {jurisdiction_id!r}.")
    return current
