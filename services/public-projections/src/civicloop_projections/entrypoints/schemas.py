"""Shapes of the HTTP answers (they become the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from civicloop_events.payloads import LocationMethod
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


class AreaRefRead(BaseModel):
    area_id: str
    kind: str
    name: str
    version: int = Field(description="the boundary version geo used")


class PlacementRead(BaseModel):
    lat: float
    long: float
    address: str | None = Field(description="as given, or from reverse geocoding")
    method: LocationMethod = Field(
        description="submitted (reporter's point), geocoded, or corrected by an agent"
    )
    provider: str = Field(description="'reporter', 'gazetteer', 'agent', ...")
    confidence: float
    resolved_at: datetime


class UnplacedRead(BaseModel):
    reason: Literal["address_not_found", "low_confidence", "geocoder_unavailable"]
    best_confidence: float | None
    detail: str
    at: datetime


class DuplicateCandidateRead(BaseModel):
    request_id: str
    service_code: str
    distance_m: float
    submitted_at: datetime
    score: float = Field(description="0..1, higher is likelier the same problem")


class VisitRead(BaseModel):
    visit_id: str
    starts_at: datetime
    duration_minutes: int
    address: str = Field(
        description="where, as the resident reads it, as it was when scheduled or last moved"
    )
    state: Literal["planned", "cancelled"]
    scheduled_at: datetime
    scheduled_by: str | None = Field(description="the staff id that scheduled it")
    public_note: str | None = Field(description="the latest note for the resident")
    rescheduled_count: int
    changed_at: datetime | None = Field(description="when it was last moved or cancelled")


class SlaTargetRead(BaseModel):
    minutes: int = Field(description="the target's length, in the category's clock")
    at_risk_from: datetime | None = Field(description="null while the clock stopped short of it")
    due_at: datetime | None = Field(description="null while the clock stopped short of it")
    done_at: datetime | None = Field(description="the acknowledgement, or the closure")


class SlaRead(BaseModel):
    state: Literal["breached", "at_risk", "due", "missed", "met"] | None = Field(
        description="the worse of the two targets' now; null when the category has no target"
    )
    dormant: bool = Field(description="not closed, and untouched for the jurisdiction's `dormant_after_days`")
    dormant_from: datetime | None
    acknowledge: SlaTargetRead | None
    resolve: SlaTargetRead | None


class AgentRequestRead(BaseModel):
    request_number: str
    jurisdiction_id: str
    service_code: str
    service_name: str | None = Field(
        description="from the jurisdiction's catalogue, when the service is defined"
    )
    description: str
    status: str
    external_status_code: str | None
    address_string: str | None
    address_id: str | None
    location: Point | None = Field(
        description="geo's resolved point once it placed the request, else the submitted one"
    )
    service_area_id: str | None = Field(
        description="the smallest current service area covering the point; once geo placed the request, the smallest"
        " of the areas geo named (null when outside every area)"
    )
    attributes: dict[str, list[str]]
    media_urls: list[str]
    preferred_channel: str
    source: str
    resident_id: UUID | None = Field(
        description="a reference to the resident; contact details are never here"
    )
    submitted_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    event_count: int
    last_event_id: UUID
    body_id: str | None = Field(
        description="the body the request is routed to; for an imported request, the body it was imported from"
    )
    team: str | None
    priority: Literal["low", "normal", "high"] | None = Field(description="null until the request is routed")
    analysis_codes: list[str]
    external_references: list[ExternalReferenceRead] = Field(
        description="in the order the back-ends assigned them"
    )
    delivery: DeliveryRead | None = Field(description="sending to the body; null while not routed to one")
    imported_from: ExternalReferenceRead | None = Field(
        description="the back-end the request was imported from"
    )
    placement: PlacementRead | None = Field(description="geo's resolved point and address; null until placed")
    service_areas: list[AreaRefRead] | None = Field(
        description="every service area geo placed the request in; null until geo placed it"
    )
    inside_jurisdiction: bool | None = Field(description="geo's verdict; null until geo placed the request")
    needs_placing: bool = Field(description="geo could not place the request: an agent has to")
    unplaced: UnplacedRead | None = Field(description="why geo could not place it, while it needs placing")
    duplicate_suspected: bool = Field(description="geo found open requests that may be the same problem")
    merged_into: str | None = Field(description="the original this request was merged into, as a duplicate")
    merged_at: datetime | None
    merge_note: str | None
    merged_duplicates: list[str] = Field(description="requests merged into this one, first merged first")
    agency_responsible: str | None = Field(
        description="the back-end's agency: named at import, then by the latest back-end update naming one"
    )
    location_flag: str | None = Field(
        description="why the back-end's point was not used at import (at or near 0,0; outside the body's area)"
    )
    assignee: str | None = Field(description="the staff id working the request (`request.assigned`)")
    assigned_at: datetime | None
    assigned_by: str | None = Field(description="the staff id that made the latest assignment")
    status_reason: str | None = Field(
        description="the latest status change's reason code: a close reason, or a reopen reason"
    )
    referred_to: str | None = Field(description="closed as not ours: whom the resident should turn to")
    status_note: str | None = Field(description="the latest status change's public note")
    status_changed_at: datetime | None
    status_changed_by: str | None = Field(description="the actor id of the latest status change")
    reopened_at: datetime | None = Field(description="when it last left `closed`")
    reopen_count: int
    public_comments: int
    internal_comments: int
    last_comment_at: datetime | None
    visits: list[VisitRead] = Field(
        description="every visit planned, in the order scheduled; cancelled ones marked"
    )
    previous_service_code: str | None = Field(description="the category before staff's latest change of it")
    sla: SlaRead | None = Field(
        default=None,
        description="the SLA now (docs/agents.md, SLA); null before its SLA row is folded, or without a definition",
    )
    last_activity_at: datetime | None = Field(
        description="the latest act of a person (resident, staff, a back-end's update); geo, routing and sending"
        " are not activity. `dormant_days` reads it"
    )


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


class CommentRead(BaseModel):
    event_id: UUID
    occurred_at: datetime
    actor: Actor
    visibility: Literal["public", "internal"] = Field(
        description="public: the resident reads it; internal: staff only, never shown or sent"
    )
    text: str
    media_urls: list[str]


class AgentRequestDetail(AgentRequestRead):
    duplicate_candidates: list[DuplicateCandidateRead] = Field(
        description="geo's latest candidates, best first"
    )
    history: list[HistoryEventRead]
    comments: list[CommentRead] = Field(description="public and internal comments, in log order, each marked")


class QueueEntry(BaseModel):
    value: str | None = Field(description="the team, staff id, priority, category or area; null: none")
    count: int


class CategoryQueueEntry(QueueEntry):
    service_name: str | None


class QueueCounts(BaseModel):
    jurisdiction_id: str
    as_of: datetime
    dormant_days: int
    by_status: dict[str, int] = Field(description="every request per status, merged duplicates left out")
    open: int = Field(description="open work: not closed, not merged into another request")
    mine: int = Field(description="open work assigned to the caller")
    unassigned: int = Field(description="open work no staff member is assigned to")
    dormant: int = Field(description="open work no one acted on for `dormant_days` days")
    by_team: list[QueueEntry] = Field(description="open work per team, most first")
    by_assignee: list[QueueEntry]
    by_priority: list[QueueEntry] = Field(description="null: not routed yet")
    by_service_code: list[CategoryQueueEntry]
    by_service_area_id: list[QueueEntry]
    by_sla_state: dict[str, int] = Field(
        description="requests per SLA state now (`breached`, `at_risk`, `due`, `missed`, `met`), as the SLA store counts"
    )
    sla_dormant: int = Field(
        description="dormant by the jurisdiction's SLA definition (`dormant_after_days`)"
    )


class ServiceAreaRead(BaseModel):
    id: str
    jurisdiction_id: str
    name: str
    kind: str
    version: int
    source: str
    defined_at: datetime
    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON MultiPolygon, with ?geometry=true"
    )


class ServiceAreaList(BaseModel):
    items: list[ServiceAreaRead]
