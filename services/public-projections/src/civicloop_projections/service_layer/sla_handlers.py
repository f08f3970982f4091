"""The SLA read model's handlers: request events move requests' clocks, a definition recomputes its jurisdiction.

Each runs in the consumer runner's transaction (effect + inbox + position). Both take the jurisdiction's lock
before any row (shared for requests, exclusive for a definition), so neither misses the other's uncommitted rows.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import SlaDefined
from civicloop_sla.clock import SlaPolicy

from civicloop_projections.domain.sla_fold import RequestSla, SlaRow, fold_requests, policy_of, sla_row


class SlaStore(abc.ABC):
    """The SLA tables, within the transaction that applies a batch of events."""

    @abc.abstractmethod
    async def lock_shared(self, jurisdictions: Collection[str]) -> None:
        """No definition of these jurisdictions is applied until the transaction ends."""

    @abc.abstractmethod
    async def lock_exclusive(self, jurisdiction_id: str) -> None:
        """No request of this jurisdiction is written until the transaction ends."""

    @abc.abstractmethod
    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, RequestSla]:
        """The requests that have a row, locked until the transaction ends."""

    @abc.abstractmethod
    async def load_jurisdiction_for_update(self, jurisdiction_id: str) -> list[RequestSla]:
        """Every request of the jurisdiction, locked until the transaction ends."""

    @abc.abstractmethod
    async def policies(self, jurisdictions: Collection[str]) -> dict[str, SlaPolicy]:
        """The current policy of each jurisdiction that has one."""

    @abc.abstractmethod
    async def define(self, event: Event[Any]) -> None:
        """Store the definition as the jurisdiction's current one."""

    @abc.abstractmethod
    async def save(self, rows: Sequence[SlaRow]) -> None:
        """Upsert the rows (one per request)."""


async def when_request_events_update_sla(store: SlaStore, events: Sequence[Event[Any]]) -> None:
    """Fold a batch (log order) into the clocks of its requests and store their rows under their jurisdictions'
    current policies. Events that move no clock write nothing."""
    events = [e for e in events if e.request_id is not None]
    if not events:
        return
    await store.lock_shared({e.jurisdiction_id for e in events})
    known = await store.load_for_update({e.request_id for e in events if e.request_id is not None})
    changed = fold_requests(known, events)
    if not changed:
        return
    policies = await store.policies({r.jurisdiction_id for r in changed.values()})
    await store.save([sla_row(r, policies.get(r.jurisdiction_id)) for r in changed.values()])


async def when_sla_defined_update_sla(store: SlaStore, event: Event[Any]) -> None:
    """A jurisdiction's new definition replaces its policy and recomputes every one of its requests from their
    stored clocks. A definition naming a time zone this installation does not know changes nothing."""
    if not isinstance(event.payload, SlaDefined):
        return
    policy = policy_of(event.payload)
    if policy is None:
        return
    await store.lock_exclusive(event.jurisdiction_id)
    await store.define(event)
    requests = await store.load_jurisdiction_for_update(event.jurisdiction_id)
    await store.save([sla_row(r, policy) for r in requests])
