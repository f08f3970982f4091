"""The public read model's handler: a batch of request events folded into the public rows of their requests.

Runs in the consumer runner's transaction (effect + inbox + position), so each event is applied exactly once.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import Any

from civicloop_events import Event

from civicloop_projections.domain.public_request import PublicRequest, fold_many


class PublicRequestStore(abc.ABC):
    @abc.abstractmethod
    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, PublicRequest]:
        """The requests that have a row, locked until the transaction ends."""

    @abc.abstractmethod
    async def save(self, rows: Sequence[PublicRequest]) -> None:
        """Upsert the rows (one per request)."""


async def when_request_events_update_public_view(
    store: PublicRequestStore, events: Sequence[Event[Any]]
) -> None:
    numbers = {e.request_id for e in events if e.request_id is not None}
    if not numbers:
        return
    changed = fold_many(await store.load_for_update(numbers), events)
    await store.save(list(changed.values()))
