"""Shapes of the HTTP answers (they become the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class Point(BaseModel):
    lat: float
    long: float


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
