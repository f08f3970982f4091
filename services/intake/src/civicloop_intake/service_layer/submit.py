"""Submit a service request: validate, seal the contact, record the submission, publish, answer.

The answer comes only after the broker acknowledged the event. An Idempotency-Key makes any retry return the same
request: a published submission is answered again; a pending one (the first attempt crashed, or the broker was
down) is published again with the same event and number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from civicloop_events import decode_event, encode_event, new_event_id, request_numbers

from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.submissions import (
    IdempotencyKeyReused,
    LogPosition,
    Submission,
    body_hash,
    submitted_event,
)
from civicloop_intake.domain.validation import check_submission
from civicloop_intake.service_layer.ports import Catalogue, EventLog, RequestNumberTaken, Submissions, Vault

log = logging.getLogger("civicloop.intake.submit")

MAX_NUMBER_DRAWS = 8


@dataclass(frozen=True)
class SubmissionReceipt:
    request_number: str
    position: LogPosition
    created: bool  # False when this call answered a submission an earlier call had already published


async def submit_service_request(
    cmd: SubmitServiceRequest,
    *,
    idempotency_key: str,
    catalogue: Catalogue,
    submissions: Submissions,
    vault: Vault,
    event_log: EventLog,
    default_jurisdiction: str,
    default_region: str,
    hash_key: bytes,
) -> SubmissionReceipt:
    jurisdiction_id = cmd.jurisdiction_id or default_jurisdiction
    fingerprint = body_hash(cmd, jurisdiction_id=jurisdiction_id, key=hash_key)

    existing = await submissions.get(idempotency_key)
    if existing is None:
        service = await catalogue.get(jurisdiction_id, cmd.service_code)
        accepted = check_submission(
            cmd, jurisdiction_id=jurisdiction_id, service=service, default_region=default_region
        )
        contact = await vault.seal(accepted.contact) if accepted.contact else None
        event_id = new_event_id()
        for _ in range(MAX_NUMBER_DRAWS):
            number = request_numbers.new_request_number()
            event = submitted_event(accepted, request_number=number, event_id=event_id, contact=contact)
            try:
                existing = await submissions.add(
                    Submission(
                        idempotency_key=idempotency_key,
                        request_number=number,
                        event_id=event_id,
                        body_hash=fingerprint,
                        event_json=encode_event(event).decode(),
                    )
                )
                break
            except RequestNumberTaken:
                log.warning("request number drawn twice, drawing again")
        else:
            raise RuntimeError(f"no free request number after {MAX_NUMBER_DRAWS} draws")
        # `existing` is set only when a concurrent call with the same key stored its submission first.
    if existing is not None and existing.body_hash != fingerprint:
        raise IdempotencyKeyReused(idempotency_key)
    return await _publish_once(idempotency_key, submissions=submissions, event_log=event_log)


async def _publish_once(
    idempotency_key: str, *, submissions: Submissions, event_log: EventLog
) -> SubmissionReceipt:
    async with submissions.locked(idempotency_key) as lock:
        submission = lock.submission
        if submission.published and submission.position is not None:
            return SubmissionReceipt(submission.request_number, submission.position, created=False)
        position = await event_log.publish(decode_event(submission.event_json))
        await lock.mark_published(position)
        log.info(
            "service request submitted",
            extra={
                "request_number": submission.request_number,
                "event_id": str(submission.event_id),
                "partition": position.partition,
                "offset": position.offset,
            },
        )
        return SubmissionReceipt(submission.request_number, position, created=True)
