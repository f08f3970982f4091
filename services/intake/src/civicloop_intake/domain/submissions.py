"""A submission's life in intake: pending until the broker acknowledged its event, then published.

The event is built once, with its id and request number, and kept with the submission, so a retry after a crash
publishes the very same event (consumers drop the second copy by `event_id`) and never a second request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Self
from uuid import UUID

from civicloop_events import Actor, ActorKind, Event, SealedPersonalData, encode_event
from civicloop_events.positions import LogPosition as LogPosition  # the contract's, re-exported
from civicloop_events.positions import PublishProgress, PublishState
from civicloop_events.submitted import submitted_event as accepted_submitted_event

from civicloop_intake.domain.commands import IntakeSource, SubmitServiceRequest
from civicloop_intake.domain.validation import AcceptedSubmission

SubmissionState = PublishState  # the outbox's row state, under the name the service layer knows


@dataclass(frozen=True)
class KeptCommand(PublishProgress):
    """A command intake accepted, kept with its event under its Idempotency-Key: a retry publishes the same event."""

    idempotency_key: str
    request_number: str
    event_id: UUID
    body_hash: str
    event_json: str

    @classmethod
    def keeping(cls, event: Event[Any], *, idempotency_key: str, body_hash: str) -> Self:
        """The command kept, pending, with the event it publishes: its request and id are the event's."""
        if event.request_id is None:
            raise ValueError(f"event {event.event_id} names no request")
        return cls(
            idempotency_key=idempotency_key,
            request_number=event.request_id,
            event_id=event.event_id,
            body_hash=body_hash,
            event_json=encode_event(event).decode(),
        )


@dataclass(frozen=True)
class Submission(KeptCommand):
    """A submission intake accepted (its event a `ServiceRequestSubmitted`)."""


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key came with a different body."""


def body_hash(cmd: SubmitServiceRequest, *, jurisdiction_id: str, key: bytes) -> str:
    """Fingerprint of what was asked, to tell a retry from a reuse of the key.

    Keyed (HMAC) because the body holds contact details: the stored digest must not be a guessable hash of them.
    """
    asked = cmd.model_dump(mode="json")
    if asked.get("link_source") is None:
        asked.pop(
            "link_source", None
        )  # as bodies were fingerprinted before links had a source: retries still match
    canonical = json.dumps(
        {**asked, "jurisdiction_id": jurisdiction_id},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def submitted_event(
    accepted: AcceptedSubmission,
    *,
    request_number: str,
    event_id: UUID,
    contact: SealedPersonalData | None,
    agent_id: str | None = None,
) -> Event[Any]:
    """The `ServiceRequestSubmitted` event of an accepted submission, whose contact is already sealed; an agent's
    submission (source `agent`) names the verified staff member (`agent_id`) as its actor."""
    if accepted.source is IntakeSource.agent:
        actor = Actor(kind=ActorKind.agent, id=agent_id)
    else:
        actor = Actor(kind=ActorKind.resident, id=str(contact.resident_id) if contact else None)
    return accepted_submitted_event(
        accepted,
        request_number=request_number,
        event_id=event_id,
        contact=contact,
        actor=actor,
        source=accepted.source.value,
        preferred_channel=accepted.preferred_channel,
    )
