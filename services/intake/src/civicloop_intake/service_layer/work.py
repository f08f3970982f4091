"""A staff command on a request: check it against the request's state, keep it with its event, publish, answer.

Like a location correction, a command is kept under its Idempotency-Key (the client's, or one the server makes)
before it is published, and the answer comes only after the broker acknowledged the event; a retry with the same
key and body answers again (publishing the very same event if the first attempt never reached the broker), the same
key with another body is refused. Commands on one request are checked and published one at a time, against the
folded state with the commands accepted here but not folded yet on top, so two agents cannot both close a request,
and the log holds a request's commands in the order they were checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from civicloop_events import decode_event, new_event_id, request_numbers
from civicloop_events.own_words import public_text_without_own_contact
from civicloop_events.personal_data import PersonalData
from civicloop_staff.roles import StaffPrincipal

from civicloop_intake.domain.assignees import Assignee
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.work_commands import (
    Assign,
    ChangeCategory,
    Circumstances,
    WorkDone,
    WorkProblem,
    WorkRejected,
    command_hash,
    decide,
    work_event,
)
from civicloop_intake.domain.work_policy import WorkPolicy
from civicloop_intake.domain.worked_requests import WorkedRequest, fold
from civicloop_intake.service_layer.merge import InvalidRequestNumbers
from civicloop_intake.service_layer.ports import Catalogue, EventLog
from civicloop_intake.service_layer.publishing import answer_kept, publish_kept
from civicloop_intake.service_layer.staff_ports import StaffStore
from civicloop_intake.service_layer.work_ports import StaffWork

log = logging.getLogger("civicloop.intake.work")

POLL_S = 0.05


@dataclass(frozen=True)
class WorkReceipt:
    request_number: str
    event_id: UUID
    event_type: str
    position: LogPosition
    created: bool  # False when this call answered a command an earlier call (same key) had already published


@dataclass(frozen=True)
class WorkContext:
    """The adapters and settings every staff command uses."""

    staff_work: StaffWork
    catalogue: Catalogue
    event_log: EventLog
    policy: WorkPolicy
    wait_s: float
    staff: StaffStore | None = (
        None  # whom an assignment may name; None: nobody (an assignment naming anyone fails)
    )
    # The request's resident's contact in clear (None: no contact, erased, or unknown), whose own words are taken
    # out of public comments and notes; None: nothing is taken out.
    residents_contact: Callable[[str], Awaitable[PersonalData | None]] | None = None


async def do_work(
    cmd: Any,
    *,
    number: str,
    staff: StaffPrincipal,
    idempotency_key: str,
    ctx: WorkContext,
    now: datetime | None = None,
) -> WorkReceipt:
    ctx.event_log.refuse_if_unavailable()  # before anything is stored: the client retries with the same key
    try:
        canonical = request_numbers.parse(number)
    except request_numbers.InvalidRequestNumber:
        raise InvalidRequestNumbers(["number"]) from None
    fingerprint = command_hash(cmd, number=canonical, staff_id=str(staff.staff_id))
    stored = await ctx.staff_work.get(idempotency_key)
    if stored is None:
        await _wait_until_known(ctx.staff_work, canonical, ctx.wait_s)  # just submitted: the fold may lag
    async with ctx.staff_work.serialised(canonical) as ledger:
        stored_now = False
        if stored is None:
            stored = await ctx.staff_work.get(idempotency_key)  # a concurrent call under the same key
        if stored is None:
            folded, pending = await ledger.current(canonical)
            state = _on_top(folded, pending)
            event_id = new_event_id()
            at = Circumstances(
                now=now or datetime.now(UTC),
                policy=ctx.policy,
                new_visit_id=f"v-{event_id.hex[-12:]}",
                category_offered=await _offered(cmd, state, ctx.catalogue),
                assignee=await _assignee(cmd, staff.jurisdiction_id, ctx.staff),
            )
            payload = decide(cmd, state, number=canonical, jurisdiction_id=staff.jurisdiction_id, at=at)
            if ctx.residents_contact is not None:
                payload = public_text_without_own_contact(payload, await ctx.residents_contact(canonical))
            event = work_event(
                payload,
                number=canonical,
                jurisdiction_id=staff.jurisdiction_id,
                actor=staff.actor,
                event_id=event_id,
            )
            mine = WorkDone.keeping(event, idempotency_key=idempotency_key, body_hash=fingerprint)
            earlier = await ctx.staff_work.add(mine)
            stored, stored_now = (earlier, False) if earlier is not None else (mine, True)
        # Anything accepted earlier on this request and not yet on the log goes first, in the order accepted.
        for key in await ledger.unpublished(canonical):
            if key != stored.idempotency_key:
                await publish_kept(
                    ctx.staff_work,
                    ctx.event_log,
                    key,
                    log=log,
                    message="staff command published",
                    context={"request_number": canonical},
                )
        receipt = await answer_kept(
            stored,
            fingerprint=fingerprint,
            outbox=ctx.staff_work,
            event_log=ctx.event_log,
            log=log,
            message="staff command accepted",
            stored_now=stored_now,
        )
    return WorkReceipt(
        request_number=canonical,
        event_id=stored.event_id,
        event_type=decode_event(stored.event_json).type,
        position=receipt.position,
        created=receipt.created,
    )


def _on_top(folded: WorkedRequest | None, pending: Sequence[Any]) -> WorkedRequest | None:
    state = folded
    for event in pending:
        state = fold(state, event)
    return state


async def _offered(cmd: Any, state: WorkedRequest | None, catalogue: Catalogue) -> bool:
    if not isinstance(cmd, ChangeCategory) or state is None:
        return True
    entry = await catalogue.get(state.jurisdiction_id, cmd.service_code)
    return entry is not None and entry.active


async def _assignee(cmd: Any, jurisdiction_id: str, store: StaffStore | None) -> Assignee | None:
    """What the staff store (folded from the log) says of the team and staff member an assignment names."""
    if not isinstance(cmd, Assign) or store is None:
        return None
    team_active = cmd.team_id is not None and cmd.team_id in await store.known_teams(jurisdiction_id)
    account = None
    if cmd.staff_id is not None:
        try:
            row = await store.account(UUID(cmd.staff_id))
        except ValueError:  # not a staff id at all
            row = None
        account = row.account if row is not None and row.jurisdiction_id == jurisdiction_id else None
    return Assignee(team_active=team_active, account=account)


async def _wait_until_known(staff_work: StaffWork, number: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:  # a table another consumer fills: polled, nothing to wait on
        if await staff_work.known(number):
            return
        await asyncio.sleep(POLL_S)


@dataclass(frozen=True)
class BulkItem:
    request_number: str
    receipt: WorkReceipt | None = None
    problem: WorkProblem | None = None
    detail: str | None = None


async def do_bulk(
    cmd: Any,
    *,
    numbers: Sequence[str],
    staff: StaffPrincipal,
    idempotency_key: str,
    ctx: WorkContext,
) -> list[BulkItem]:
    """The command on each request, one after the other, each its own event under its own key (`<key>:<number>`,
    so a retry of the whole selection repeats nothing); a refusal is that item's result, not the selection's."""
    prefix = (
        "bulk-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    )  # fits the key column with any number
    items: list[BulkItem] = []
    for number in numbers:
        try:
            receipt = await do_work(
                cmd, number=number, staff=staff, idempotency_key=f"{prefix}:{number}", ctx=ctx
            )
        except WorkRejected as exc:
            items.append(BulkItem(number, problem=exc.problem, detail=str(exc)))
        except InvalidRequestNumbers:
            items.append(BulkItem(number, problem=WorkProblem.unknown_request, detail="not a request number"))
        else:
            items.append(BulkItem(number, receipt=receipt))
    return items
