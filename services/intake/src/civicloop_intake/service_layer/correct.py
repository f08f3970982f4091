"""An agent places a request by hand: check it against intake's views, record it, publish, answer.

Like a submission, a correction is kept with its event under its Idempotency-Key (the client's, or one the server
makes) before it is published, and the answer comes only after the broker acknowledged the event. A retry with the
same key and body answers again, publishing the very same event if the first attempt never reached the broker;
without a key every call is a new correction. The merged check reads the track view and intake's merge ledger
(merges accepted here that the view may not have folded yet).
"""

from __future__ import annotations

import logging

from civicloop_events import new_event_id, request_numbers

from civicloop_intake.domain.corrections import (
    Correction,
    CorrectLocation,
    check_correction,
    corrected_event,
    correction_hash,
)
from civicloop_intake.domain.merging import KnownRequest
from civicloop_intake.service_layer.merge import InvalidRequestNumbers, wait_until_known
from civicloop_intake.service_layer.ports import Corrections, EventLog, Merges, TrackingView
from civicloop_intake.service_layer.publishing import Receipt, answer_kept

log = logging.getLogger("civicloop.intake.correct")


CorrectionReceipt = Receipt  # the name the entrypoints and bootstrap know


async def correct_location(
    cmd: CorrectLocation,
    *,
    number: str,
    agent_id: str,
    idempotency_key: str,
    tracking: TrackingView,
    merges: Merges,
    corrections: Corrections,
    event_log: EventLog,
    wait_s: float,
    acting_for: str | None = None,
) -> CorrectionReceipt:
    """`acting_for`: the staff member's jurisdiction; another jurisdiction's request is answered as unknown."""
    event_log.refuse_if_unavailable()  # before anything is stored: the client retries with the same key
    try:
        canonical = request_numbers.parse(number)
    except request_numbers.InvalidRequestNumber:
        raise InvalidRequestNumbers(["number"]) from None
    fingerprint = correction_hash(cmd, number=canonical, agent_id=agent_id)

    stored = await corrections.get(idempotency_key)
    stored_now = False  # a row this call stores is published without first looking for it on the log
    if stored is None:
        known = await _known(canonical, tracking, merges, wait_s)
        if known is not None and acting_for is not None and known.jurisdiction_id != acting_for:
            known = None
        jurisdiction_id = check_correction(canonical, known)
        event_id = new_event_id()
        event = corrected_event(
            cmd, number=canonical, jurisdiction_id=jurisdiction_id, agent_id=agent_id, event_id=event_id
        )
        mine = Correction.keeping(event, idempotency_key=idempotency_key, body_hash=fingerprint)
        # The stored one instead when a concurrent call with the same key stored its correction first.
        earlier = await corrections.add(mine)
        stored, stored_now = (earlier, False) if earlier is not None else (mine, True)
    return await answer_kept(
        stored,
        fingerprint=fingerprint,
        outbox=corrections,
        event_log=event_log,
        log=log,
        message="location corrected",
        stored_now=stored_now,
    )


async def _known(number: str, tracking: TrackingView, merges: Merges, wait_s: float) -> KnownRequest | None:
    await wait_until_known(tracking, (number,), wait_s)  # just submitted: the view may lag a moment
    tracked = await tracking.get(number)
    if tracked is None:
        return None
    async with merges.serialised() as ledger:  # a merge accepted here counts before the view folds it
        merge = await ledger.get(number)
    return KnownRequest(tracked.jurisdiction_id, merge.original if merge else tracked.merged_into)
