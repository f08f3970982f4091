"""What every payload class declares, and the decorator that puts it in the contract.

One class per (type, version), never changed once an event of it was written. The class says:
- `event_type`: its canonical name, `<aggregate>.<fact>` (docs/events.md, "Naming");
- `schema_version`: 1, then one more for each new shape;
- `topic`: the role of the topic its events go on (`Topics.of(cls)` gives the deployment's topic name);
- `aliases`: earlier names of the type that are still on the log and must keep decoding;
- from version 2 on, a static method `upcast_v{N-1}_v{N}(data) -> data` that upgrades the previous version.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from civicloop_events.registry import REGISTRY
from civicloop_events.topic_roles import TopicRole


class FrozenModel(BaseModel):
    """A value inside a payload: immutable, and strict about unknown fields like the payload itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventPayload(FrozenModel):
    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    topic: ClassVar[TopicRole]
    aliases: ClassVar[tuple[str, ...]] = ()


P = TypeVar("P", bound=type[EventPayload])


def registered(model: P) -> P:
    """Register a payload class in the contract's registry (decodable, upcast, in the schemas and the tests)."""
    REGISTRY.register(model)
    return model
