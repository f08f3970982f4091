"""The ports selfheal's folds and sweep work through; `adapters/` implements them."""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import SlaDefined

from civicloop_selfheal.domain.decisions import Action, Ledger
from civicloop_selfheal.domain.runs import RunReport
from civicloop_selfheal.domain.view import BodyView, ClusterView, DeadLetter, RequestView


class ViewStore(abc.ABC):
    """The view as a consumer's transaction sees it."""

    @abc.abstractmethod
    async def requests(self, numbers: Collection[str]) -> dict[str, RequestView]: ...

    @abc.abstractmethod
    async def save_requests(self, views: Iterable[RequestView]) -> None: ...

    @abc.abstractmethod
    async def save_cluster(self, cluster: ClusterView) -> None: ...

    @abc.abstractmethod
    async def body(self, jurisdiction_id: str, body_id: str) -> BodyView | None: ...

    @abc.abstractmethod
    async def save_body(self, body: BodyView) -> None: ...

    @abc.abstractmethod
    async def save_sla(self, jurisdiction_id: str, definition: SlaDefined) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """What a sweep judges: the requests not closed, the jurisdictions' SLA definitions, the bodies, the hot spots
    not escalated yet with their members, and the dead letters not looked at yet with the requests they name."""

    requests: Sequence[RequestView]
    policies: Mapping[str, SlaDefined]
    bodies: Mapping[tuple[str, str], BodyView]
    clusters: Sequence[ClusterView]
    cluster_members: Mapping[str, RequestView]
    dead_letters: Sequence[DeadLetter]
    dead_letter_requests: Mapping[str, RequestView]


class SweepStore(abc.ABC):
    @abc.abstractmethod
    async def snapshot(self) -> Snapshot: ...

    @abc.abstractmethod
    async def ledger(self, subjects: Collection[str]) -> Ledger: ...

    @abc.abstractmethod
    async def done(self, event_ids: Collection[UUID]) -> set[UUID]: ...

    @abc.abstractmethod
    async def record_pending(
        self, run_id: UUID, actions: Sequence[tuple[Action, Event[Any]]], *, now: datetime
    ) -> list[Event[Any]]:
        """Store each action as pending (its event with it); the events of those not in the ledger before."""

    @abc.abstractmethod
    async def pending(self) -> list[Event[Any]]:
        """Events of actions recorded but not published (a run that stopped half-way)."""

    @abc.abstractmethod
    async def mark_published(self, event_ids: Collection[UUID]) -> None: ...

    @abc.abstractmethod
    async def dead_letters_seen(self, dead_letters: Iterable[DeadLetter]) -> None: ...

    @abc.abstractmethod
    async def start_run(self, report: RunReport) -> None: ...

    @abc.abstractmethod
    async def finish_run(self, report: RunReport) -> None: ...


class EventPublisher(abc.ABC):
    @abc.abstractmethod
    async def publish_many(self, events: Sequence[Event[Any]]) -> None:
        """Every event on its topic, acknowledged by the broker, or an exception."""


class DeadLetterSource(abc.ABC):
    @abc.abstractmethod
    async def collect(self) -> int:
        """Keep the dead-letter topic's records not seen yet (their place and headers, never the value)."""


class IntakeOutboxes(abc.ABC):
    @abc.abstractmethod
    async def oldest_pending_s(self) -> float | None:
        """The age of intake's oldest pending row, as its metrics say (None: they say nothing of it yet); raises
        when intake does not answer."""

    @abc.abstractmethod
    async def sweep_now(self) -> int:
        """Ask intake to publish its pending rows now; how many it published."""
