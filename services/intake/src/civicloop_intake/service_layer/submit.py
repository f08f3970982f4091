"""Submit a service request: validate, seal the contact, record the submission, publish, answer.

The answer comes only after the broker acknowledged the event. An Idempotency-Key makes any retry return the same
request: a published submission is answered again; a pending one (the first attempt crashed, or the broker was
down) is published again with the same event and number, or by the sweeper if the client never comes back
(`civicloop_events.outbox`). The number is drawn inside intake's tag and checked against intake's own table.
"""

from __future__ import annotations

import logging

from civicloop_events import new_event_id, request_numbers

from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.submissions import (
    Submission,
    body_hash,
    submitted_event,
)
from civicloop_intake.domain.validation import InvalidSubmission, check_submission
from civicloop_intake.service_layer.ports import Catalogue, EventLog, Submissions, Vault
from civicloop_intake.service_layer.publishing import Receipt, answer_kept

log = logging.getLogger("civicloop.intake.submit")

PRODUCER = "intake"  # its tag in `request_numbers.PRODUCER_TAGS`


SubmissionReceipt = Receipt  # the name the entrypoints and bootstrap know


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
    agent_id: str | None = None,
) -> SubmissionReceipt:
    """`agent_id`: the verified staff member of a submission made by an agent (source `agent`)."""
    # The log known to be down: refuse before the catalogue, the vault or the outbox is touched (503, retry with
    # the same key); otherwise every request of an outage would store a row and wait out the publish timeout.
    event_log.refuse_if_unavailable()
    jurisdiction_id = cmd.jurisdiction_id or default_jurisdiction
    fingerprint = body_hash(cmd, jurisdiction_id=jurisdiction_id, key=hash_key)

    async def answer(submission: Submission, *, stored_now: bool = False) -> SubmissionReceipt:
        return await answer_kept(
            submission,
            fingerprint=fingerprint,
            outbox=submissions,
            event_log=event_log,
            log=log,
            message="service request submitted",
            stored_now=stored_now,
        )

    service = await catalogue.get(jurisdiction_id, cmd.service_code)
    try:
        accepted = check_submission(
            cmd, jurisdiction_id=jurisdiction_id, service=service, default_region=default_region
        )
    except InvalidSubmission:
        # A retry of a submission kept earlier is answered as it was, even if the catalogue changed since.
        if (kept := await submissions.get(idempotency_key)) is not None:
            return await answer(kept)
        raise
    contact = None
    if accepted.contact:
        # Sealing writes to the vault: a retry is answered from what was kept, without sealing again. Without a
        # contact the insert below finds what was kept under the key itself (one round trip less).
        if (kept := await submissions.get(idempotency_key)) is not None:
            return await answer(kept)
        contact = await vault.seal(accepted.contact)
    event_id = new_event_id()
    stored_now = False

    async def store(number: str) -> Submission:
        nonlocal stored_now
        event = submitted_event(
            accepted, request_number=number, event_id=event_id, contact=contact, agent_id=agent_id
        )
        mine = Submission.keeping(event, idempotency_key=idempotency_key, body_hash=fingerprint)
        # The stored one instead when an earlier or concurrent call with the same key stored its submission first.
        earlier = await submissions.add(mine)
        stored_now = earlier is None
        return earlier or mine

    submission = await request_numbers.store_with_new_number(PRODUCER, store)
    return await answer(submission, stored_now=stored_now)
