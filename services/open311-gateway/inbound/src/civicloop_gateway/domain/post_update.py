"""POST servicerequestupdates (FixMyStreet extension, FX-10): a partner's comment and/or status change.

Parameters [FMS-WIKI; ADAPTER `POST_Service_Request_Update_input_schema`]: `service_request_id`, `status`
(upper-case extended set, ST-02), `updated_datetime` (W3C, G-41) and `description` (may be empty) are required;
`update_id` is the partner's own id of the update and makes retries safe when given; `media_url` may repeat;
`external_status_code` is kept. The updater's `first_name`, `last_name`, `email`, `phone` are not kept: a public
comment has no author details in CivicLoop's events, and nothing else needs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Actor, ActorKind, CommentAdded, Event, StatusChanged
from civicloop_events.payloads import CommentVisibility, RequestStatus
from civicloop_open311.dates import InvalidDate, parse_w3c
from civicloop_open311.forms import OpenForm

from civicloop_gateway.domain.submit_errors import BadRequest
from civicloop_gateway.domain.submit_record import partner_source
from civicloop_gateway.domain.submit_validation import MEDIA_URL_MAX, MEDIA_URLS_MAX, read_description

UPDATE_ID_PATTERN = re.compile(r"^[\w.:-]{1,64}$")

# ST-02: the upper-case statuses of POST servicerequestupdates -> CivicLoop's statuses. None: no status change
# (UNCHANGED says so; the detail stays in `external_status_code`).
STATUS_MAP: dict[str, RequestStatus | None] = {
    "UNCHANGED": None,
    "OPEN": RequestStatus.open,
    "REOPEN": RequestStatus.open,
    "FOR_TRIAGE": RequestStatus.open,
    "INVESTIGATING": RequestStatus.acknowledged,
    "ACTION_SCHEDULED": RequestStatus.in_progress,
    "PLANNED": RequestStatus.in_progress,
    "IN_PROGRESS": RequestStatus.in_progress,
    "INTERNAL_REFERRAL": RequestStatus.in_progress,
    "FIXED": RequestStatus.closed,
    "CLOSED": RequestStatus.closed,
    "DUPLICATE": RequestStatus.closed,
    "NOT_COUNCILS_RESPONSIBILITY": RequestStatus.closed,
    "NO_FURTHER_ACTION": RequestStatus.closed,
    "CANCELLED": RequestStatus.closed,
}


@dataclass(frozen=True)
class PostedUpdate:
    """A checked update, not yet turned into events."""

    service_request_id: str
    status: str  # the upper-case Open311 status as sent
    new_status: RequestStatus | None
    updated_datetime: datetime
    description: str
    media_urls: list[str] = field(default_factory=list)
    partner_update_id: str | None = None
    external_status_code: str | None = None


def map_status(raw: str) -> tuple[str, RequestStatus | None]:
    """ST-02 upper-case status -> (canonical text, CivicLoop status). Lower case is read too (ST-04: be lenient)."""
    canonical = raw.strip().upper().replace(" ", "_")
    if canonical not in STATUS_MAP:
        raise BadRequest(f"status {raw!r} is not one of: {', '.join(STATUS_MAP)}.")
    return canonical, STATUS_MAP[canonical]


def read_update(form: OpenForm) -> PostedUpdate:
    errors: list[str] = []
    service_request_id = form.get("service_request_id")
    if service_request_id is None:
        errors.append("service_request_id was not provided.")
    status, new_status = "", None
    raw_status = form.get("status")
    if raw_status is None:
        errors.append("status was not provided (one of OPEN, CLOSED, FIXED, IN_PROGRESS, ...).")
    else:
        try:
            status, new_status = map_status(raw_status)
        except BadRequest as exc:
            errors.extend(exc.descriptions)
    updated: datetime | None = None
    raw_updated = form.get("updated_datetime")
    if raw_updated is None:
        errors.append("updated_datetime was not provided (W3C, e.g. 2010-01-01T00:00:00Z).")
    else:
        try:
            updated = parse_w3c(raw_updated).start
        except InvalidDate as exc:
            errors.append(f"updated_datetime: {exc}")
    description = read_description(form, errors)
    media_urls = form.all("media_url")
    if len(media_urls) > MEDIA_URLS_MAX or any(len(u) > MEDIA_URL_MAX for u in media_urls):
        errors.append(
            f"media_url is accepted at most {MEDIA_URLS_MAX} times, each up to {MEDIA_URL_MAX} characters."
        )
    if media_urls and not description:
        errors.append("description is required when media_url is given (a photo is posted as a comment).")
    partner_update_id = form.get("update_id")
    if partner_update_id is not None and not UPDATE_ID_PATTERN.match(partner_update_id):
        errors.append("update_id must be 1-64 letters, digits, '_', '-', '.' or ':'.")
    external = form.get("external_status_code")
    if external is not None and len(external) > 64:
        errors.append("external_status_code is longer than 64 characters.")
    if errors or service_request_id is None or updated is None:  # a missing field is always one of the errors
        raise BadRequest(*errors)
    return PostedUpdate(
        service_request_id=service_request_id,
        status=status,
        new_status=new_status,
        updated_datetime=updated,
        description=description,
        media_urls=media_urls,
        partner_update_id=partner_update_id,
        external_status_code=external,
    )


def update_events(
    update: PostedUpdate,
    *,
    jurisdiction_id: str,
    client_id: str,
    current_status: RequestStatus | None,
    event_ids: tuple[UUID, UUID],
) -> list[Event[Any]]:
    """The events of an update: a public `CommentAdded` when there is text, a `StatusChanged` when the status moves.

    The status is unchanged when it maps to the request's current status (FixMyStreet sends a status with every
    comment) or to none at all (UNCHANGED). An update that changes nothing publishes nothing.
    """
    actor = Actor(kind=ActorKind.partner, id=client_id)
    common: dict[str, Any] = {
        "request_id": update.service_request_id,
        "jurisdiction_id": jurisdiction_id,
        "actor": actor,
        "source": partner_source(client_id),
        "occurred_at": update.updated_datetime,
    }
    events: list[Event[Any]] = []
    if update.description:
        comment = CommentAdded(
            text=update.description, visibility=CommentVisibility.public, media_urls=update.media_urls
        )
        events.append(Event.create(comment, event_id=event_ids[0], **common))
    if update.new_status is not None and update.new_status is not current_status:
        change = StatusChanged(
            status=update.new_status,
            previous_status=current_status,
            external_status_code=update.external_status_code or update.status,
        )
        events.append(Event.create(change, event_id=event_ids[1], **common))
    return events
