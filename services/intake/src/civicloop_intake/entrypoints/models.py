"""Shapes of the HTTP answers (the request body is the domain's `SubmitServiceRequest`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from civicloop_events.payloads import RequestStatus
from pydantic import BaseModel, Field

from civicloop_intake.domain.tracking import HistoryKind


class PositionRead(BaseModel):
    """Where the request's event sits on the request-events topic (also sent as `CivicLoop-Position: p:o`)."""

    partition: int
    offset: int


class SubmissionLinks(BaseModel):
    track: str = Field(description="where the resident follows the request: POST `{number, phone}` there")
    track_page: str = Field(
        description="the request's tracking page on the public site, its number filled in"
    )
    track_qr: str = Field(description="an SVG QR code of `track_page` (`GET /api/qr`), to show or print")


class SubmissionRead(BaseModel):
    request_number: str = Field(examples=["7K3D-Q9XA"])
    status: Literal["open"] = "open"
    position: PositionRead
    links: SubmissionLinks


class HistoryEntryRead(BaseModel):
    kind: HistoryKind
    at: datetime
    status: RequestStatus | None = None
    note: str | None = Field(default=None, description="the public note of a status change")
    text: str | None = Field(default=None, description='the text of a public comment, or "Sent to <body_id>"')
    body_id: str | None = Field(default=None, description="sent: the body the request was sent to")
    external_id: str | None = Field(
        default=None, description="sent: the reference that body's back-end gave it"
    )
    referred_to: str | None = Field(
        default=None, description="status closed as not ours: the organisation to turn to"
    )
    starts_at: datetime | None = Field(
        default=None, description="visit: when it is planned (or was, when cancelled)"
    )
    duration_minutes: int | None = Field(default=None, description="visit: how long the window lasts")
    address: str | None = Field(default=None, description="visit: where, as it was given to you")


class ExternalReferenceRead(BaseModel):
    """The body a request was sent to, and the reference its back-end gave it (quote it when calling that body)."""

    body_id: str = Field(examples=["dpw"])
    external_id: str = Field(examples=["SR-2026-004211"])


class PlaceAreaRead(BaseModel):
    kind: str = Field(examples=["council_district"])
    name: str = Field(examples=["Council District 14"])


class OriginalRead(BaseModel):
    """The request a merged one follows: its public facts only, never its description or its resident's details."""

    request_number: str
    service_name: str | None
    status: RequestStatus
    updated_at: datetime
    history: list[HistoryEntryRead]


class TrackRead(BaseModel):
    request_number: str
    service_code: str
    service_name: str | None
    status: RequestStatus = Field(
        description="where the problem stands: for a merged request, its original's status"
    )
    description: str
    submitted_at: datetime
    updated_at: datetime
    history: list[HistoryEntryRead]
    external_references: list[ExternalReferenceRead] = Field(
        description="every body the request was sent to, first sent first, with its back-end's reference"
    )
    merged_into: str | None = Field(
        description="the original this request was merged into, as the same problem"
    )
    original: OriginalRead | None = Field(
        description="what happens to the original, which this request follows"
    )
    address: str | None = Field(description="block-level address of the request, once placed on the map")
    service_areas: list[PlaceAreaRead] = Field(
        description="the service areas the request lies in, once placed"
    )


class MergeRead(BaseModel):
    request_number: str = Field(description="the duplicate", examples=["7K3D-Q9XA"])
    merged_into: str = Field(
        description="the original the event names: the end of the requested original's chain"
    )
    requested_original: str
    position: PositionRead


class LocationCorrectionRead(BaseModel):
    request_number: str = Field(examples=["7K3D-Q9XA"])
    lat: float
    long: float
    address: str | None
    position: PositionRead = Field(
        description="where the LocationCorrected event sits; geo's LocationResolved follows"
    )


class ErrorRead(BaseModel):
    error: str
    detail: str
    idempotency_key: str | None = Field(
        default=None, description="retry with this key to complete the request"
    )


class MalformedBodyRead(BaseModel):
    """The body could not be read at all (not JSON, not UTF-8)."""

    detail: str


class FieldErrorRead(BaseModel):
    type: str
    loc: list[str | int] = Field(description='where the problem is, e.g. ["body", "contact", "phone"]')
    msg: str


class ValidationErrorRead(BaseModel):
    detail: list[FieldErrorRead]
