"""Shapes of the HTTP answers (they become the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class Point(BaseModel):
    lat: float
    long: float


class ExternalReferenceRead(BaseModel):
    body_id: str
    external_id: str = Field(description="the back-end's own id for the request")


class DeliveryRead(BaseModel):
    state: Literal["queued", "sent", "failed", "given_up"] = Field(
        description="queued: routed, not yet attempted; failed: retried at `retry_at`; given_up: no more retries"
    )
    attempts: int = Field(description="the highest attempt seen")
    last_error: str | None = Field(description="the error of the last attempt, when it failed")
    retry_at: datetime | None = Field(description="when the next attempt is due, after a failure")


class AgentRequestRead(BaseModel):
    request_number: str
    jurisdiction_id: str
    service_code: str
    service_name: str | None = Field(description="from the jurisdiction's catalogue, when the service is defined")
    description: str
    status: str
    external_status_code: str | None
    address_string: str | None
    address_id: str | None
    location: Point | None
    service_area_id: str | None = Field(description="the smallest current service area covering the point")
    attributes: dict[str, list[str]]
    media_urls: list[str]
    preferred_channel: str
    source: str
    resident_id: UUID | None = Field(description="a reference to the resident; contact details are never here")
    submitted_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    event_count: int
    last_event_id: UUID
    body_id: str | None = Field(description="the body the request is routed to")
    team: str | None
    priority: Literal["low", "normal", "high"] | None = Field(description="null until the request is routed")
    analysis_codes: list[str]
    external_references: list[ExternalReferenceRead] = Field(description="in the order the back-ends assigned them")
    delivery: DeliveryRead | None = Field(description="sending to the body; null while not routed to one")
    imported_from: ExternalReferenceRead | None = Field(description="the back-end the request was imported from")


class AgentRequestPage(BaseModel):
    items: list[AgentRequestRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class Actor(BaseModel):
    kind: str
    id: str | None


class HistoryEventRead(BaseModel):
    event_id: UUID
    partition: int
    offset: int
    type: str
    schema_version: int = Field(description="the version as read, after upcasting")
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    source: str
    causation_id: UUID | None
    correlation_id: UUID | None
    summary: dict[str, Any] = Field(description="the event's payload, without sealed contact details")


class AgentRequestDetail(AgentRequestRead):
    history: list[HistoryEventRead]


class ServiceAreaRead(BaseModel):
    id: str
    jurisdiction_id: str
    name: str
    kind: str
    version: int
    source: str
    defined_at: datetime
    geometry: dict[str, Any] | None = Field(default=None, description="GeoJSON MultiPolygon, with ?geometry=true")


class ServiceAreaList(BaseModel):
    items: list[ServiceAreaRead]
