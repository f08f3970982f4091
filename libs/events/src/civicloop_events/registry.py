"""From (type, schema_version) to payload model, with upcasters run on read.

Stored events are never rewritten: an old version is upcast in memory, step by step, to the latest model of its type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from civicloop_events.envelope import Event
from civicloop_events.payloads import (
    BackendUpdateReceived,
    BodyDefined,
    BodyPaused,
    BodyResumed,
    ClusterDetected,
    CommentAdded,
    DuplicateSuspected,
    EventPayload,
    ExternalReferenceAssigned,
    LocationCorrected,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    PartnerAuthorised,
    PartnerKeyRevoked,
    RequestImported,
    Routed,
    RoutingRulesDefined,
    SendFailed,
    SentToBackend,
    ServiceAreaDefined,
    ServiceDefined,
    ServiceRequestSubmitted,
    ServiceRequestSubmittedV1,
    StatusChanged,
    upcast_submitted_v1_v2,
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(Exception):
    """An event whose (type, version) this contract does not know: a poison message for this reader."""


@dataclass
class EventRegistry:
    models: dict[tuple[str, int], type[EventPayload]] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    def register(self, model: type[EventPayload], *, upcast_from_previous: Upcaster | None = None) -> None:
        key = (model.event_type, model.schema_version)
        if key in self.models:
            raise ValueError(f"{key} registered twice")
        if model.schema_version > 1:
            if upcast_from_previous is None:
                raise ValueError(f"{key} needs an upcaster from v{model.schema_version - 1}")
            self.upcasters[(model.event_type, model.schema_version - 1)] = upcast_from_previous
        self.models[key] = model

    def latest_version(self, event_type: str) -> int:
        versions = [v for (t, v) in self.models if t == event_type]
        if not versions:
            raise UnknownEventType(event_type)
        return max(versions)

    def latest_models(self) -> list[type[EventPayload]]:
        return [self.models[(t, self.latest_version(t))] for t in sorted({t for t, _ in self.models})]

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (event_type, version) not in self.models:
            raise UnknownEventType(f"{event_type} v{version}")
        latest = self.latest_version(event_type)
        while version < latest:
            payload = self.upcasters[(event_type, version)](payload)
            version += 1
        return version, payload

    def decode(self, raw: dict[str, Any]) -> Event[Any]:
        """A raw envelope (as stored) -> an `Event` whose payload is the latest model of its type."""
        try:
            event_type, version = raw["type"], int(raw["schema_version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UnknownEventType(f"not an envelope: {exc}") from exc
        version, payload = self.upcast(event_type, version, raw.get("payload") or {})
        model = self.models[(event_type, version)]
        return Event[model].model_validate({**raw, "schema_version": version, "payload": payload})  # type: ignore[valid-type]


REGISTRY = EventRegistry()
REGISTRY.register(ServiceRequestSubmittedV1)
REGISTRY.register(ServiceRequestSubmitted, upcast_from_previous=upcast_submitted_v1_v2)
REGISTRY.register(StatusChanged)
REGISTRY.register(CommentAdded)
REGISTRY.register(ServiceDefined)
REGISTRY.register(ServiceAreaDefined)
REGISTRY.register(PartnerAuthorised)
REGISTRY.register(PartnerKeyRevoked)
for _model in (
    BodyDefined,
    BodyPaused,
    BodyResumed,
    RoutingRulesDefined,
    Routed,
    SentToBackend,
    SendFailed,
    ExternalReferenceAssigned,
    BackendUpdateReceived,
    RequestImported,
    LocationResolved,
    LocationCorrected,
    LocationUnresolved,
    DuplicateSuspected,
    MergedAsDuplicate,
    ClusterDetected,
):
    REGISTRY.register(_model)


def encode_event(event: Event[Any]) -> bytes:
    """JSON as written to the log: the envelope with the payload exactly as its own version defines it."""
    return event.model_dump_json().encode()


def decode_event(data: bytes | str | dict[str, Any], registry: EventRegistry = REGISTRY) -> Event[Any]:
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise UnknownEventType(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnknownEventType("an envelope must be a JSON object")
    return registry.decode(data)
