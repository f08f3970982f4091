"""Merge a duplicate into an original: check it against intake's views, record it, publish, answer.

The checks read the track view (every request on the log, and the merges folded from it) and intake's own merge
ledger (merges accepted here that the view may not have folded yet), one merge at a time. The answer comes only
after the broker acknowledged the event. Repeating an accepted merge answers it again (and publishes it, if the
first attempt never reached the broker); the note of the first call stands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from civicloop_events import encode_event, request_numbers

from civicloop_intake.domain.merging import (
    MAX_CHAIN,
    KnownRequest,
    Merge,
    MergeDuplicate,
    MergeProblem,
    MergeRejected,
    merged_event,
    plan_merge,
)
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.service_layer.ports import EventLog, MergeLedger, Merges, TrackingView
from civicloop_intake.service_layer.publishing import publish_kept

log = logging.getLogger("civicloop.intake.merge")

POLL_S = 0.05


class InvalidRequestNumbers(Exception):
    """The path's number or the body's `original` is not a request number; `fields` names which."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


@dataclass(frozen=True)
class MergeReceipt:
    duplicate: str
    original: str
    requested_original: str
    position: LogPosition
    created: bool  # False when this call answered a merge an earlier call had already published


async def merge_duplicate(
    cmd: MergeDuplicate,
    *,
    number: str,
    agent_id: str,
    tracking: TrackingView,
    merges: Merges,
    event_log: EventLog,
    wait_s: float,
    acting_for: str | None = None,
) -> MergeReceipt:
    """`acting_for`: the staff member's jurisdiction; another jurisdiction's request is answered as unknown."""
    event_log.refuse_if_unavailable()  # before anything is stored or waited for
    duplicate, requested = _canonical(number, cmd.original)
    await wait_until_known(
        tracking, (duplicate, requested), wait_s
    )  # just submitted: the view may lag a moment
    stored_now = False  # a row this call stores is published without first looking for it on the log
    async with merges.serialised() as ledger:
        merge = await ledger.get(duplicate)
        if merge is None:
            known = await _known(ledger, tracking, duplicate, requested)
            if acting_for is not None:
                known = {n: k for n, k in known.items() if k.jurisdiction_id == acting_for}
            plan = plan_merge(duplicate=duplicate, requested_original=requested, known=known)
            event = merged_event(plan, agent_id=agent_id, note=cmd.note)
            merge = Merge(
                duplicate=duplicate,
                original=plan.original,
                requested_original=requested,
                event_id=event.event_id,
                event_json=encode_event(event).decode(),
            )
            await ledger.add(merge)
            stored_now = True
        elif merge.requested_original != requested:
            raise MergeRejected(
                MergeProblem.already_merged, f"{duplicate} is already merged into {merge.original}"
            )
    published = await publish_kept(
        merges,
        event_log,
        duplicate,
        log=log,
        message="merged as duplicate",
        context={"request_number": duplicate, "original": merge.original, "event_id": str(merge.event_id)},
        stored_now=stored_now,
    )
    return MergeReceipt(
        merge.duplicate,
        merge.original,
        merge.requested_original,
        published.position,
        created=published.created,
    )


def _canonical(number: str, original: str) -> tuple[str, str]:
    parsed, bad = [], []
    for field, text in (("number", number), ("original", original)):
        try:
            parsed.append(request_numbers.parse(text))
        except request_numbers.InvalidRequestNumber:
            bad.append(field)
    if bad:
        raise InvalidRequestNumbers(bad)
    return parsed[0], parsed[1]


async def wait_until_known(tracking: TrackingView, numbers: tuple[str, ...], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    for number in numbers:  # the tracking view is a table another consumer fills: polled, nothing to wait on
        while time.monotonic() < deadline:
            if await tracking.get(number) is not None:
                break
            await asyncio.sleep(POLL_S)


async def _known(
    ledger: MergeLedger, tracking: TrackingView, duplicate: str, requested: str
) -> dict[str, KnownRequest]:
    """D, O and O's merge chain as intake knows them: the view, with the ledger's not yet folded merges on top."""

    async def lookup(number: str) -> KnownRequest | None:
        tracked = await tracking.get(number)
        if tracked is None:
            return None
        own = await ledger.get(number)
        return KnownRequest(tracked.jurisdiction_id, own.original if own else tracked.merged_into)

    known: dict[str, KnownRequest] = {}
    for number in (duplicate, requested):
        if (request := await lookup(number)) is not None:
            known[number] = request
    current = known.get(requested)
    for _ in range(MAX_CHAIN):
        if current is None or current.merged_into is None or current.merged_into in known:
            break
        nxt = current.merged_into
        current = await lookup(nxt)
        if current is not None:
            known[nxt] = current
    return known
