"""A request on its way to a body: routed, sent (or failed), the body's reference and what it reports back.

All on the request-events topic, keyed by the request number.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.payloads.bodies import Priority, SendMethod
from civicloop_events.topic_roles import TopicRole


@registered
class Routed(EventPayload):
    event_type: ClassVar[str] = "request.routed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    body_id: str | None = None
    team: str | None = None
    priority: Priority = Priority.normal
    analysis_codes: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list, description="names of the rules that matched")


@registered
class SentToBackend(EventPayload):
    event_type: ClassVar[str] = "request.sent_to_backend"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.sent_to_backend",)

    body_id: str
    method: SendMethod
    attempt: int = Field(ge=1)
    destination: str = Field(default="", max_length=500, description="address or endpoint, never a secret")


@registered
class SendFailed(EventPayload):
    event_type: ClassVar[str] = "request.send_failed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.send_failed",)

    body_id: str
    method: SendMethod
    attempt: int = Field(ge=1)
    error: str = Field(max_length=2000)
    retry_at: AwareDatetime | None = Field(default=None, description="None: no more automatic retries")


@registered
class ExternalReferenceAssigned(EventPayload):
    """The back-end's own id for the request (Open311 service_request_id, work-order number)."""

    event_type: ClassVar[str] = "request.external_reference_assigned"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.external_reference_assigned",)

    body_id: str
    external_id: str = Field(min_length=1, max_length=200)


@registered
class BackendUpdateReceivedV1(EventPayload):
    """Historical v1: no agency."""

    event_type: ClassVar[str] = "request.backend_update_received"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.backend_update_received",)

    body_id: str
    external_id: str
    update_id: str = Field(min_length=1, max_length=200)
    backend_status: str = Field(max_length=120)
    external_status_code: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", max_length=4000)
    media_url: str | None = None
    updated_at: AwareDatetime


@registered
class BackendUpdateReceived(EventPayload):
    """What a back-end reported about a request it holds: a status, a note, media, the agency now responsible."""

    event_type: ClassVar[str] = "request.backend_update_received"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.backend_update_received",)

    body_id: str
    external_id: str
    update_id: str = Field(min_length=1, max_length=200)
    backend_status: str = Field(max_length=120)
    external_status_code: str | None = Field(default=None, max_length=120)
    description: str = Field(default="", max_length=4000)
    media_url: str | None = None
    updated_at: AwareDatetime
    agency_responsible: str | None = Field(
        default=None, max_length=200, description="the back-end's agency_responsible, when it said one"
    )

    @staticmethod
    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        """v1 -> v2: v1 carried no agency."""
        return dict(data)


@registered
class RequestImportedV1(EventPayload):
    """Historical v1: no agency, no flag on the place."""

    event_type: ClassVar[str] = "request.imported"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.request_imported",)

    body_id: str
    external_id: str
    backend_service_code: str


@registered
class RequestImported(EventPayload):
    """A problem created in a back-end was brought into CivicLoop (followed by its ServiceRequestSubmitted)."""

    event_type: ClassVar[str] = "request.imported"
    schema_version: ClassVar[int] = 2
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("outbound.request_imported",)

    body_id: str
    external_id: str
    backend_service_code: str
    agency_responsible: str | None = Field(
        default=None, max_length=200, description="the back-end's agency_responsible"
    )
    location_flag: str | None = Field(
        default=None,
        max_length=300,
        description="why the back-end's point was not used (at or near 0,0; outside the body's area)",
    )

    @staticmethod
    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        """v1 -> v2: v1 carried no agency and flagged no place."""
        return dict(data)
