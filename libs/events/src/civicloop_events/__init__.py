"""CivicLoop's event contract.

Every service depends on this package and on nothing of another service. It holds the envelope every event travels
in, the versioned payload models, the registry that upcasts old versions on read, the JSON codec, and the thin Kafka
adapters (an idempotent producer and a consumer runner whose effects are exactly-once in PostgreSQL).
Importing the package imports `civicloop_events.payloads`, which registers every event type in `REGISTRY`.
"""

from importlib.metadata import version

from civicloop_events.envelope import Actor, ActorKind, Event, derived_event_id, new_event_id
from civicloop_events.payloads import (
    CommentAdded,
    Location,
    ServiceAreaDefined,
    ServiceDefined,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.personal_data import PersonalData, SealedPersonalData
from civicloop_events.registry import REGISTRY, UnknownEventType, decode_event, encode_event

CONTRACT_VERSION = version("civicloop-events")
"""The contract's version is the package's: a new type, version or name is a new minor release of both."""

__all__ = [
    "CONTRACT_VERSION",
    "REGISTRY",
    "Actor",
    "ActorKind",
    "CommentAdded",
    "Event",
    "Location",
    "PersonalData",
    "SealedPersonalData",
    "ServiceAreaDefined",
    "ServiceDefined",
    "ServiceRequestSubmitted",
    "StatusChanged",
    "UnknownEventType",
    "decode_event",
    "derived_event_id",
    "encode_event",
    "new_event_id",
]
