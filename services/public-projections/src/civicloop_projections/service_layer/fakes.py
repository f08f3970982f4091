"""In-memory twins of the ports: the handlers' unit tests run on them, and a contract test holds them to Postgres."""

from __future__ import annotations

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

    async def append_history(self, entry: HistoryEntry) -> None:
        if any(h.event_id == entry.event_id for h in self.history):
            raise KeyError(f"event {entry.event_id} is already in the history")
        self.history.append(entry)

    async def history_summaries(self, request_number: str, event_type: str) -> list[dict[str, Any]]:
        names = REGISTRY.names_of(event_type)  # rows written before a rename carry the earlier name
        return [h.summary for h in self.history if h.request_number == request_number and h.type in names]

    async def load_for_update(self, request_number: str) -> AgentRequest | None:
        return self.rows.get(request_number)

    async def save(self, state: AgentRequest) -> None:
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
