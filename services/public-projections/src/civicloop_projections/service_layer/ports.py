"""What the handlers need from storage. Postgres implements these (`adapters/`); the unit tests use fakes."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from typing import Any

from civicloop_events import Event

from civicloop_projections.domain.agent_request import AgentRequest
from civicloop_projections.domain.history import HistoryEntry


class AgentViewStore(abc.ABC):
    """The agent read model, within the transaction that applies a batch of events."""

    @abc.abstractmethod
    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        """Append the entries (log order); an event already in the history is an error."""

    @abc.abstractmethod
    async def history_summaries(
        self, request_numbers: Collection[str], event_type: str
    ) -> dict[str, list[dict[str, Any]]]:
        """The summaries of the requests' history entries of one type, per request in log order (requests without
        any are left out)."""

    @abc.abstractmethod
    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, AgentRequest]:
        """The current states of the requests that have one, locked until the transaction ends."""

    @abc.abstractmethod
    async def save(self, states: Sequence[AgentRequest]) -> None:
        """Store the states (one per request); the service name and the service area are resolved from the
        catalogue as it is now."""


class CatalogueStore(abc.ABC):
    """The catalogue view, within the transaction that applies one configuration event."""

    @abc.abstractmethod
    async def define_service(self, event: Event[Any]) -> None:
        """The latest definition of a service wins; requests of that service take its name."""

    @abc.abstractmethod
    async def define_service_area(self, event: Event[Any], geometry: dict[str, Any]) -> int:
        """Add the next version of the area and re-resolve the requests it may gain or lose; returns the version."""
