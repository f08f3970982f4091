"""The gateway's Open311 view folded from the log, and what the folds need from storage.

Each handler runs in the consumer runner's transaction (effect + inbox + position): the rows are bound to it. The
two consumers run concurrently, so both take the same lock on (jurisdiction, service_code) before they read or
write what the other writes: whichever commits second sees the other's row, and a request never keeps an empty
name because its service was defined in the same instant.

The request fold takes a batch of events (the runner's batch handler): the rows of every request the batch touches
are read in one go, folded in memory by the pure `fold_many` and written back in one go.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import (
    PartnerAuthorised,
    PartnerKeyRevoked,
    ServiceDefined,
)

from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow, partner_key_row, service_row
from civicloop_gateway.domain.request_view import (
    ImportRow,
    RequestRow,
    ServiceKey,
    UpdateRow,
    fold_many,
    named_services,
    opened_by,
    requests_of,
)


class ServiceLock(abc.ABC):
    @abc.abstractmethod
    async def lock_services(self, services: Sequence[ServiceKey]) -> None:
        """Held until the transaction ends; taken by both folds before they touch a service's requests. Both take
        their locks in one order (the adapter's), so the two consumers never wait for each other in a cycle."""


class RequestViewRows(ServiceLock):
    """The request view's rows, within the transaction that applies a batch of request events."""

    @abc.abstractmethod
    async def service_names(self, services: Sequence[ServiceKey]) -> dict[ServiceKey, str]:
        """The catalogue's name of each service it knows."""

    @abc.abstractmethod
    async def load_for_update(self, service_request_ids: Sequence[str]) -> dict[str, RequestRow]:
        """The stored rows of those requests the view has, locked until the transaction ends."""

    @abc.abstractmethod
    async def save_requests(self, rows: Sequence[RequestRow]) -> None: ...

    @abc.abstractmethod
    async def save_updates(self, updates: Sequence[UpdateRow]) -> None:
        """Once per update id: a replayed event adds nothing."""

    @abc.abstractmethod
    async def imports_of(self, service_request_ids: Sequence[str]) -> dict[str, ImportRow]:
        """The kept imports of those requests (each request's first)."""

    @abc.abstractmethod
    async def save_imports(self, imports: Sequence[ImportRow]) -> None:
        """Kept for the submissions that follow; the first import of a request stays."""


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


async def when_request_events_update_view(
    rows: RequestViewRows, events: Sequence[Event[Any]], *, resolution: int
) -> None:
    """Fold a batch of request events (one partition's, in log order) into their requests' rows and the updates:
    one read of the rows, the fold in memory, one write of what changed. Submitted places are made public at H3
    `resolution`."""
    services = named_services(events)
    names: dict[ServiceKey, str] = {}
    if services:
        await rows.lock_services(services)
        names = await rows.service_names(services)
    ids = requests_of(events)
    if not ids:
        return
    before = await rows.load_for_update(ids)
    opened = opened_by(before, events)
    imports = await rows.imports_of(opened) if opened else {}
    change = fold_many(before, events, service_names=names, resolution=resolution, imports=imports)
    if change.imports:
        await rows.save_imports(change.imports)
    if change.requests:
        await rows.save_requests(list(change.requests.values()))
    if change.updates:
        await rows.save_updates(change.updates)


async def when_request_event_update_view(
    rows: RequestViewRows, event: Event[Any], *, resolution: int
) -> None:
    """One request event: a batch of one."""
    await when_request_events_update_view(rows, [event], resolution=resolution)


async def when_config_events_update_catalogue(rows: CatalogueRows, events: Sequence[Event[Any]]) -> None:
    """A batch of configuration events, in log order; the locks of every service it defines are taken first, in
    the adapter's order (as the request fold takes them)."""
    defined = sorted(
        {(e.jurisdiction_id, e.payload.service_code) for e in events if isinstance(e.payload, ServiceDefined)}
    )
    if defined:
        await rows.lock_services(defined)
    for event in events:
        await _apply_config_event(rows, event)


async def when_config_event_update_catalogue(rows: CatalogueRows, event: Event[Any]) -> None:
    """Services, jurisdictions and partner keys; other configuration events are not the gateway's."""
    await when_config_events_update_catalogue(rows, [event])


async def _apply_config_event(rows: CatalogueRows, event: Event[Any]) -> None:
    payload = event.payload
    if isinstance(payload, ServiceDefined):
        await rows.save_service(service_row(event))
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
