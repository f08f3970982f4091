"""A request as the public sees it: a pure fold over its events that keeps no personal data by construction.

What it keeps is listed field by field below; nothing else of an event is read. No contact, resident id, exact point,
description, internal comment or staff id can reach it: the fold never copies them. The place is `libs/places`'
public place (an H3 cell's centre, a block-level address); the one free text kept (the latest public note) passes
`civicloop_places.scrub`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicloop_events import Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    LocationResolved,
    PublicPlace,
    RequestStatus,
    SurveyAnswered,
)
from civicloop_places import public_place
from civicloop_places.scrub import scrub


@dataclass(frozen=True)
class PublicRequest:
    request_number: str
    jurisdiction_id: str
    service_code: str
    status: str
    submitted_at: datetime
    acknowledged_at: datetime | None = None  # the first time it left "open"
    closed_at: datetime | None = None  # the latest close (none while open again after a reopen)
    close_reason: str | None = None  # a reason code from the jurisdiction's list, never free text
    h3_cell: str | None = None
    h3_resolution: int | None = None
    cell_lat: float | None = None  # the cell's centre, never the reported point
    cell_long: float | None = None
    block_address: str | None = None
    service_areas: tuple[str, ...] | None = None  # area names; None: not placed by geo yet
    public_note: str | None = None  # scrubbed
    nps_score: int | None = None  # the latest survey answer's
    fixed: bool | None = None


def _placed(state: PublicRequest, place: PublicPlace) -> PublicRequest:
    return replace(
        state,
        h3_cell=place.h3_cell,
        h3_resolution=place.h3_resolution,
        cell_lat=place.lat,
        cell_long=place.long,
        block_address=place.address,
    )


def submitted(event: Event[Any]) -> PublicRequest:
    p: ServiceRequestSubmitted = event.payload
    state = PublicRequest(
        request_number=event.request_id or "",
        jurisdiction_id=event.jurisdiction_id,
        service_code=p.service_code,
        status=RequestStatus.open.value,
        submitted_at=event.occurred_at,
    )
    location = p.location
    if location.lat is not None and location.long is not None:
        return _placed(state, public_place(location.lat, location.long, location.address_string))
    return state


def status_changed(state: PublicRequest, event: Event[Any]) -> PublicRequest:
    p: StatusChanged = event.payload
    closing = p.status is RequestStatus.closed
    return replace(
        state,
        status=p.status.value,
        acknowledged_at=state.acknowledged_at
        or (event.occurred_at if p.status is not RequestStatus.open else None),
        closed_at=event.occurred_at if closing else None,
        close_reason=p.reason if closing else None,
        public_note=scrub(p.public_note) if p.public_note else state.public_note,
    )


def fold(state: PublicRequest | None, event: Event[Any]) -> PublicRequest | None:
    """The request after `event`; None while its submission has not been seen (events before it are not shown)."""
    payload = event.payload
    if isinstance(payload, ServiceRequestSubmitted):
        return submitted(event) if state is None else state
    if state is None:
        return None
    if isinstance(payload, StatusChanged):
        return status_changed(state, event)
    if isinstance(payload, LocationResolved):
        return replace(
            _placed(state, payload.public), service_areas=tuple(a.name for a in payload.service_areas)
        )
    if isinstance(payload, CategoryChanged):
        return replace(state, service_code=payload.service_code)
    if isinstance(payload, SurveyAnswered):
        return replace(
            state,
            nps_score=payload.nps_score if payload.nps_score is not None else state.nps_score,
            fixed=payload.fixed if payload.fixed is not None else state.fixed,
        )
    return state


def fold_many(states: Mapping[str, PublicRequest], events: Sequence[Event[Any]]) -> dict[str, PublicRequest]:
    """The requests `events` (log order) changed, folded from `states` (their rows before the batch)."""
    current: dict[str, PublicRequest] = dict(states)
    changed: dict[str, PublicRequest] = {}
    for event in events:
        number = event.request_id
        if number is None:
            continue
        before = current.get(number)
        after = fold(before, event)
        if after is not None and after != before:
            current[number] = changed[number] = after
    return changed
