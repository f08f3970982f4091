"""In-memory twins of the ports: the handlers' unit tests run on them, and a contract test holds them to Postgres."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from civicloop_events import REGISTRY, Event, ServiceAreaDefined, ServiceDefined

from civicloop_projections.domain.agent_request import AgentRequest
from civicloop_projections.domain.history import HistoryEntry
from civicloop_projections.service_layer.ports import AgentViewStore, CatalogueStore


@dataclass
class InMemoryAgentViewStore(AgentViewStore):
    rows: dict[str, AgentRequest] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        for entry in entries:
            if any(h.event_id == entry.event_id for h in self.history):
                raise KeyError(f"event {entry.event_id} is already in the history")
            self.history.append(entry)

    async def history_summaries(
        self, request_numbers: Collection[str], event_type: str
    ) -> dict[str, list[dict[str, Any]]]:
        names = REGISTRY.names_of(event_type)  # rows written before a rename carry the earlier name
        found: dict[str, list[dict[str, Any]]] = {}
        for h in self.history:
            if h.request_number in request_numbers and h.type in names:
                found.setdefault(h.request_number, []).append(h.summary)
        return found

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, AgentRequest]:
        return {n: self.rows[n] for n in request_numbers if n in self.rows}

    async def save(self, states: Sequence[AgentRequest]) -> None:
        for state in states:
            self.rows[state.request_number] = state


@dataclass
class InMemoryCatalogueStore(CatalogueStore):
    services: dict[tuple[str, str], str] = field(default_factory=dict)
    area_versions: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    async def define_service(self, event: Event[Any]) -> None:
        p: ServiceDefined = event.payload
        self.services[(event.jurisdiction_id, p.service_code)] = p.service_name

    async def define_service_area(self, event: Event[Any], geometry: dict[str, Any]) -> int:
        p: ServiceAreaDefined = event.payload
        versions = self.area_versions.setdefault((event.jurisdiction_id, p.area_id), [])
        versions.append(geometry)
        return len(versions)
