"""The envelope every event travels in (DESIGN §2)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

import uuid6
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from civicloop_events.payloads.base import EventPayload

P = TypeVar("P", bound=BaseModel)


def new_event_id() -> UUID:
    """UUIDv7: time-ordered, so ids sort by creation and index well."""
    return uuid6.uuid7()


_DERIVED_NAMESPACE = UUID("6f1c2a4e-3b0d-5e8a-9c71-0d4b2f7a8e15")


def derived_event_id(kind: str, *parts: object) -> UUID:
    """A deterministic event id for a reaction (e.g. `("routed", cause.event_id)`).

    A consumer that publishes from inside its transaction publishes again when it is retried or replayed; the same id
    makes the second copy the same event, which every consumer's inbox drops.
    """
    return uuid.uuid5(_DERIVED_NAMESPACE, ":".join([kind, *map(str, parts)]))


def utcnow() -> datetime:
    return datetime.now(UTC)


class ActorKind(str, enum.Enum):
    resident = "resident"
    agent = "agent"
    partner = "partner"
    system = "system"


class Actor(BaseModel):
    """Who caused the event. `id` is an opaque reference (an agent's login, a partner's client id), never a name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActorKind
    id: str | None = None


class Event(BaseModel, Generic[P]):
    """An immutable fact about one service request.

    `request_id` is the request number and the Kafka key, so all events of one request are totally ordered.
    Jurisdiction-configuration events (catalogue, service areas) have no request: their key is the jurisdiction.
    `type` is the canonical name of the payload's type (an event written under an earlier name is read under the
    current one); `schema_version` is the payload's version as written; readers always see the latest version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=new_event_id)
    type: str
    schema_version: int = Field(ge=1)
    request_id: str | None = Field(default=None, min_length=1, max_length=64)
    jurisdiction_id: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    recorded_at: AwareDatetime = Field(default_factory=utcnow)
    actor: Actor
    source: str = Field(min_length=1, max_length=120, description="web, sms, agent, open311:CLIENT, ...")
    causation_id: UUID | None = None
    correlation_id: UUID | None = None
    payload: P

    @classmethod
    def create(
        cls,
        payload: EventPayload,
        *,
        request_id: str | None,
        jurisdiction_id: str,
        actor: Actor,
        source: str,
        occurred_at: datetime | None = None,
        causation: Event[Any] | None = None,
        event_id: UUID | None = None,
    ) -> Event[Any]:
        """Wrap a payload model in a new envelope; a caused event inherits its cause's correlation id."""
        now = utcnow()
        eid = event_id or new_event_id()
        return cls(
            event_id=eid,
            type=payload.event_type,
            schema_version=payload.schema_version,
            request_id=request_id,
            jurisdiction_id=jurisdiction_id,
            occurred_at=occurred_at or now,
            recorded_at=now,
            actor=actor,
            source=source,
            causation_id=causation.event_id if causation else None,
            correlation_id=(causation.correlation_id or causation.event_id) if causation else eid,
            payload=payload,
        )

    @property
    def key(self) -> bytes:
        """The Kafka key: the request for request events, the jurisdiction for configuration events."""
        return (self.request_id or self.jurisdiction_id).encode()
