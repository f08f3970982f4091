"""A partner's submission: pending until the broker acknowledged its event, then published.

The event is built once, with its id and request number (and, for a batch service, its token), and kept with the
submission. A retry of the same POST (PR-11) finds the submission by its body digest and answers with the same
request; if the first attempt never reached the broker, the retry publishes the very same event, which consumers
would drop by `event_id` had it arrived twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from civicloop_events import Actor, ActorKind, Event, SealedPersonalData
from civicloop_events import submitted as shared_submitted
from civicloop_events.payloads import ServiceType
from civicloop_events.positions import LogPosition as LogPosition  # the contract's, re-exported
from civicloop_events.positions import PublishProgress, PublishState
from civicloop_open311.forms import OpenForm

from civicloop_gateway.domain.submit_errors import BadRequest
from civicloop_gateway.domain.submit_validation import AcceptedRequest

SubmissionState = PublishState  # the outbox's row state, under the name the gateway knows


@dataclass(frozen=True)
class Submission(PublishProgress):
    digest: str
    jurisdiction_id: str
    client_id: str
    request_number: str
    event_id: UUID
    service_type: ServiceType
    event_json: str
    token: str | None = None
    service_notice: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class SubmitAnswer:
    """PR-09: realtime -> the request id; batch -> a token only; blackbox -> neither (service_notice if any)."""

    service_request_id: str | None
    token: str | None
    service_notice: str | None
    created: bool  # False when a retry was answered with the request an earlier attempt made

    @classmethod
    def of(cls, submission: Submission, *, created: bool) -> SubmitAnswer:
        kind = submission.service_type
        return cls(
            service_request_id=submission.request_number if kind is ServiceType.realtime else None,
            token=submission.token if kind is ServiceType.batch else None,
            service_notice=submission.service_notice,
            created=created,
        )


def partner_source(client_id: str) -> str:
    return f"open311:{client_id}"


def new_token() -> str:
    """An opaque batch token (G-03: letters, digits and `-`), unguessable so tokens/ reveals nothing by enumeration."""
    return str(uuid.uuid4()).upper()


def submitted_event(
    accepted: AcceptedRequest,
    *,
    client_id: str,
    request_number: str,
    event_id: UUID,
    contact: SealedPersonalData | None,
) -> Event[Any]:
    """The `ServiceRequestSubmitted` of an accepted POST, whose contact is already sealed: the partner is its actor."""
    return shared_submitted.submitted_event(
        accepted,
        request_number=request_number,
        event_id=event_id,
        contact=contact,
        actor=Actor(kind=ActorKind.partner, id=client_id),
        source=partner_source(client_id),
    )


# What a partner's `Idempotency-Key` may be: an opaque token of printable ASCII (a UUID, typically).
IDEMPOTENCY_KEY_MAX = 255


def checked_idempotency_key(raw: str | None) -> str | None:
    """The partner's `Idempotency-Key` header, or None without one; 400 when it cannot be a key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not all(" " < c <= "~" for c in key):
        raise BadRequest(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters.")
    return key


def retry_window(
    form: OpenForm, *, idempotency_key: str | None, dedup_window: timedelta, sender_window: timedelta
) -> timedelta | None:
    """How long a POST can be answered as a retry of an earlier identical one (PR-11), None when it never is.

    Two residents can send the same form through the same partner (the same pothole, the same words), so a body is
    folded into an earlier one only when that is provably a retry:
    - the partner sent an `Idempotency-Key`: the same key with the same body, within `dedup_window` (24 h);
    - the body carries the partner's own report id (`attribute[fixmystreet_id]`, or another CivicLoop's marker of
      its request in the description): within `dedup_window` too;
    - the body names its sender (email, phone, name, device or account id): the same sender, only within the short
      `sender_window` (a resident's own quick re-send is a retry; the same report a day later is not provably one);
    - otherwise (an anonymous body, no key) never: each POST is a request.
    """
    if idempotency_key is not None or form.carries_report_id():
        return dedup_window
    if form.names_its_sender():
        return sender_window
    return None
