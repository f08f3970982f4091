"""Intake's two views folded from the log, and what they need from storage.

Each handler runs in the consumer runner's transaction (effect + inbox + position): the stores are bound to it.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import Any

from civicloop_events import Event

from civicloop_intake.domain.catalogue import CatalogueEntry, entry_from
from civicloop_intake.domain.tracking import TrackedRequest, fold_many


class TrackingRows(abc.ABC):
    """The track view's rows, within the transaction that applies a batch of events."""

    @abc.abstractmethod
    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, TrackedRequest]:
        """The views of the requests that have one, locked until the transaction ends."""

    @abc.abstractmethod
    async def save(self, states: Sequence[TrackedRequest]) -> None:
        """Store the views (one per request)."""


class CatalogueRows(abc.ABC):
    """The catalogue view's rows, within the transaction that applies one configuration event."""

    @abc.abstractmethod
    async def save(self, entry: CatalogueEntry, event: Event[Any]) -> None:
        """The latest definition of a service replaces the previous one."""


async def when_request_events_update_tracking(rows: TrackingRows, events: Sequence[Event[Any]]) -> None:
    """Fold a batch of request events (log order) into the track view: one read of the rows it names, one write of
    those it changed."""
    numbers = {e.request_id for e in events if e.request_id is not None}
    if not numbers:
        return
    changed = fold_many(await rows.load_for_update(numbers), events)
    if changed:
        await rows.save(list(changed.values()))


async def when_request_event_update_tracking(rows: TrackingRows, event: Event[Any]) -> None:
    """One request event: a batch of one."""
    await when_request_events_update_tracking(rows, [event])


async def when_service_defined_update_catalogue(rows: CatalogueRows, event: Event[Any]) -> None:
    """Keep the latest definition of each service; other configuration events are not intake's."""
    entry = entry_from(event)
    if entry is not None:
        await rows.save(entry, event)
