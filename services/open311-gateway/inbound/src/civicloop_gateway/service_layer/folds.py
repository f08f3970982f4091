"""The gateway's Open311 view folded from the log, and what the folds need from storage.

Each handler runs in the consumer runner's transaction (effect + inbox + position): the rows are bound to it. The
two consumers run concurrently, so both take the same lock on (jurisdiction, service_code) before they read or
write what the other writes: whichever commits second sees the other's row, and a request never keeps an empty
name because its service was defined in the same instant.
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import (
    PartnerAuthorised,
    PartnerKeyRevoked,
    ServiceDefined,
    ServiceRequestSubmitted,
)

from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow, partner_key_row, service_row
from civicloop_gateway.domain.request_view import RequestRow, UpdateRow, fold


class ServiceLock(abc.ABC):
    @abc.abstractmethod
    async def lock_service(self, jurisdiction_id: str, service_code: str) -> None:
        """Held until the transaction ends; taken by both folds before they touch a service's requests."""


class RequestViewRows(ServiceLock):
    """The request view's rows, within the transaction that applies one request event."""

    @abc.abstractmethod
    async def service_name(self, jurisdiction_id: str, service_code: str) -> str | None: ...

    @abc.abstractmethod
    async def load_for_update(self, service_request_id: str) -> RequestRow | None: ...

    @abc.abstractmethod
    async def save_request(self, row: RequestRow) -> None: ...

    @abc.abstractmethod
    async def save_update(self, update: UpdateRow) -> None:
        """Once per update id: a replayed event adds nothing."""


class CatalogueRows(ServiceLock):
    """The catalogue and partner views' rows, within the transaction that applies one configuration event."""

    @abc.abstractmethod
    async def save_service(self, row: ServiceRow) -> None:
        """The latest definition of a service, its jurisdiction known, its requests showing its current name."""

    @abc.abstractmethod
    async def save_partner_key(self, row: PartnerKeyRow) -> None:
        """An authorised key (re-authorising a revoked one makes it valid again)."""

    @abc.abstractmethod
    async def revoke_partner_key(
        self, jurisdiction_id: str, client_id: str, key_id: str, *, at: datetime, event_id: UUID
    ) -> None:
        """The first revocation's time stays."""


async def when_request_event_update_view(
    rows: RequestViewRows, event: Event[Any], *, resolution: int
) -> None:
    """Fold one request event into its request's row and the updates; submitted places made public at H3
    `resolution`."""
    if event.request_id is None:
        return
    service_name = None
    if isinstance(event.payload, ServiceRequestSubmitted):
        await rows.lock_service(event.jurisdiction_id, event.payload.service_code)
        service_name = await rows.service_name(event.jurisdiction_id, event.payload.service_code)
    before = await rows.load_for_update(event.request_id)
    change = fold(before, event, service_name=service_name, resolution=resolution)
    if change.request is not None:
        await rows.save_request(change.request)
    if change.update is not None:
        await rows.save_update(change.update)


async def when_config_event_update_catalogue(rows: CatalogueRows, event: Event[Any]) -> None:
    """Services, jurisdictions and partner keys; other configuration events are not the gateway's."""
    payload = event.payload
    if isinstance(payload, ServiceDefined):
        row = service_row(event)
        await rows.lock_service(row.jurisdiction_id, row.service_code)
        await rows.save_service(row)
    elif isinstance(payload, PartnerAuthorised):
        await rows.save_partner_key(partner_key_row(event))
    elif isinstance(payload, PartnerKeyRevoked):
        await rows.revoke_partner_key(
            event.jurisdiction_id,
            payload.client_id,
            payload.key_id,
            at=event.occurred_at,
            event_id=event.event_id,
        )
