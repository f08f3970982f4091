"""From (type, schema_version) to payload model, with aliases of renamed types and upcasters run on read.

Stored events are never rewritten: an event written under an old name is read under its current name, and an old
version is upcast in memory, step by step, to the latest model of its type. Payload classes register themselves
with `@registered` (in `civicloop_events.payloads.base`); importing `civicloop_events` imports every payload module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from civicloop_events.envelope import Event

if TYPE_CHECKING:
    from civicloop_events.payloads.base import EventPayload

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# The envelope's type and version as `encode_event` writes them, near the start: read without parsing the whole
# record, they pick the model that validates the raw JSON in one pass (see `EventRegistry.decode_json`).
_TYPE_AND_VERSION = re.compile(rb'"type":"([a-z0-9_.]{1,120})","schema_version":([0-9]{1,4})[,}]')
_PEEK_BYTES = 400


class UnknownEventType(Exception):
    """An event whose (type, version) this contract does not know: a poison message for this reader."""


def upcaster_name(from_version: int) -> str:
    """The static method a class of version N carries to upgrade N-1 (pyeventsourcing's `upcast_v1_v2`)."""
    return f"upcast_v{from_version}_v{from_version + 1}"


@dataclass
class EventRegistry:
    models: dict[tuple[str, int], type[EventPayload]] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """An earlier name of a type (still on the log) -> its canonical name."""
    _latest: dict[str, int] = field(default_factory=dict, repr=False)
    _envelopes: dict[tuple[str, int], type[Event[Any]]] = field(default_factory=dict, repr=False)

    def register(self, model: type[EventPayload]) -> None:
        """Add one (type, version). A version after the first needs the previous one and its upcaster."""
        event_type, version = model.event_type, model.schema_version
        key = (event_type, version)
        if key in self.models:
            raise ValueError(f"{key} registered twice")
        if event_type in self.aliases:
            raise ValueError(f"{event_type!r} is already an alias of {self.aliases[event_type]!r}")
        if version > 1:
            upcast = getattr(model, upcaster_name(version - 1), None)
            if upcast is None:
                raise ValueError(f"{key} needs an upcaster `{upcaster_name(version - 1)}`")
            if (event_type, version - 1) not in self.models:
                raise ValueError(f"{key}: its upcaster starts from v{version - 1}, which is not registered")
            self.upcasters[(event_type, version - 1)] = upcast
        for alias in model.aliases:
            if any(t == alias for t, _ in self.models) or self.aliases.get(alias, event_type) != event_type:
                raise ValueError(f"alias {alias!r} of {event_type!r} is already taken")
            self.aliases[alias] = event_type
        self.models[key] = model
        self._latest[event_type] = max(version, self._latest.get(event_type, 0))

    def canonical(self, event_type: str) -> str:
        """The current name of a type, given it or one of its earlier names."""
        return self.aliases.get(event_type, event_type)

    def names_of(self, event_type: str) -> list[str]:
        """The canonical name first, then every earlier name that still decodes to it."""
        canonical = self.canonical(event_type)
        return [canonical, *sorted(a for a, t in self.aliases.items() if t == canonical)]

    def event_types(self) -> list[str]:
        return sorted({t for t, _ in self.models})

    def latest_version(self, event_type: str) -> int:
        try:
            return self._latest[self.canonical(event_type)]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def latest_models(self) -> list[type[EventPayload]]:
        return [self.models[(t, self.latest_version(t))] for t in self.event_types()]

    def upcast(self, event_type: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        event_type = self.canonical(event_type)
        if (event_type, version) not in self.models:
            raise UnknownEventType(f"{event_type} v{version}")
        latest = self.latest_version(event_type)
        while version < latest:
            payload = self.upcasters[(event_type, version)](payload)
            version += 1
        return version, payload

    def decode(self, raw: dict[str, Any]) -> Event[Any]:
        """A raw envelope (as stored) -> an `Event` of the type's current name and latest payload model."""
        try:
            event_type, version = self.canonical(raw["type"]), int(raw["schema_version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UnknownEventType(f"not an envelope: {exc}") from exc
        version, payload = self.upcast(event_type, version, raw.get("payload") or {})
        return self._envelope(event_type, version).model_validate(
            {**raw, "type": event_type, "schema_version": version, "payload": payload}
        )

    def decode_json(self, data: bytes) -> Event[Any]:
        """A stored record -> an `Event`, as `decode` would give it, validated straight from the JSON when it can.

        A record of a type's current name and latest version (nearly every record) needs no upcasting: its model,
        picked by the type and version read near the start, validates the raw bytes in one pass, three times
        cheaper than parsing to a dict first. The envelope it yields must carry that very type and version (the
        peek may have found a payload's field); anything else takes the general path."""
        peeked = _TYPE_AND_VERSION.search(data, 0, _PEEK_BYTES)
        if peeked is not None:
            event_type, version = peeked[1].decode(), int(peeked[2])
            if event_type not in self.aliases and self._latest.get(event_type) == version:
                try:
                    event = self._envelope(event_type, version).model_validate_json(data)
                except ValueError:
                    pass  # the general path gives the definitive answer (and error)
                else:
                    if event.type == event_type and event.schema_version == version:
                        return event
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise UnknownEventType(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise UnknownEventType("an envelope must be a JSON object")
        return self.decode(raw)

    def _envelope(self, event_type: str, version: int) -> type[Event[Any]]:
        """`Event[model]`, parametrised once per (type, version) rather than looked up on every record."""
        envelope = self._envelopes.get((event_type, version))
        if envelope is None:
            model = self.models[(event_type, version)]
            envelope = self._envelopes[(event_type, version)] = Event[model]  # type: ignore[valid-type]
        return envelope


REGISTRY = EventRegistry()


def encode_event(event: Event[Any]) -> bytes:
    """JSON as written to the log: the envelope with the payload exactly as its own version defines it."""
    return event.model_dump_json().encode()


def decode_event(data: bytes | str | dict[str, Any], registry: EventRegistry = REGISTRY) -> Event[Any]:
    if isinstance(data, bytes):
        return registry.decode_json(data)
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise UnknownEventType(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnknownEventType("an envelope must be a JSON object")
    return registry.decode(data)
