"""Intake's two views folded from the log, and what they need from storage.

Each handler runs in the consumer runner's transaction (effect + inbox + position): the stores are bound to it.
"""

from __future__ import annotations

import abc
from typing import Any

from civicloop_events import Event

from civicloop_intake.domain.catalogue import CatalogueEntry, entry_from
from civicloop_intake.domain.tracking import TrackedRequest, fold


class TrackingRows(abc.ABC):
    """The track view's rows, within the transaction that applies one event."""

    @abc.abstractmethod
    async def load_for_update(self, request_number: str) -> TrackedRequest | None: ...

    @abc.abstractmethod
    async def save(self, state: TrackedRequest) -> None: ...


class CatalogueRows(abc.ABC):
    """The catalogue view's rows, within the transaction that applies one configuration event."""

    @abc.abstractmethod
    async def save(self, entry: CatalogueEntry, event: Event[Any]) -> None:
        """The latest definition of a service replaces the previous one."""


async def when_request_event_update_tracking(rows: TrackingRows, event: Event[Any]) -> None:
    """Fold one request event into its row of the track view."""
    if event.request_id is None:
        return
    before = await rows.load_for_update(event.request_id)
    after = fold(before, event)
    if after is None or after is before:
        return
    await rows.save(after)


async def when_service_defined_update_catalogue(rows: CatalogueRows, event: Event[Any]) -> None:
    """Keep the latest definition of each service; other configuration events are not intake's."""
    entry = entry_from(event)
    if entry is not None:
        await rows.save(entry, event)
