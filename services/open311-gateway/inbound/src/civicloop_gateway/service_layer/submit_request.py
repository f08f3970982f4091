"""POST Service Request: authenticate, validate, seal the contact, record, publish, answer (PR-01..PR-11).

The answer comes only after the broker acknowledged the event. A retry is recognised by the partner's
`Idempotency-Key` and its content, and only when it is provably one (PR-11, `retry_window`): the same partner posting
the same normalised body under the same key (or with its own report id, or naming the same sender within a few
minutes) gets the request the first attempt made, published once; a pending one (the first attempt crashed, or the
broker was down) is published again with the same event, or by the sweeper if the partner never retries
(`civicloop_events.outbox`). Anything else is a new request, however alike: two residents' identical reports stay
two. The number is drawn inside the gateway's tag, checked against its own table.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from civicloop_events import encode_event, new_event_id, request_numbers
from civicloop_events.outbox import publish_stored
from civicloop_events.payloads import ServiceType
from civicloop_open311.forms import OpenForm, body_digest

from civicloop_gateway.domain.submit_record import (
    Submission,
    SubmitAnswer,
    new_token,
    retry_window,
    submitted_event,
)
from civicloop_gateway.domain.submit_validation import accept_request, check_service, require_service_code
from civicloop_gateway.service_layer.partner_auth import PartnerWriteContext
from civicloop_gateway.service_layer.submit_ports import (
    Catalogue,
    EventLog,
    Requests,
    RequestView,
    Submissions,
    Vault,
)

log = logging.getLogger("civicloop.gateway.submit")

PRODUCER = "open311-gateway"  # its tag in `request_numbers.PRODUCER_TAGS`


@dataclass(frozen=True)
class SubmitContext(PartnerWriteContext):
    catalogue: Catalogue
    submissions: Submissions
    vault: Vault
    event_log: EventLog
    pepper: bytes
    dedup_window: timedelta
    # How long a body naming its sender, without an Idempotency-Key, is taken as a retry (`retry_window`).
    sender_retry_window: timedelta = timedelta(minutes=10)
    default_phone_region: str = "US"
    request_view: RequestView | None = None
    # Every request on the log: a number one of them has is refused too (made before the producer tags, by any
    # producer, it may lie inside the gateway's tag). None when `submissions.add` refuses those numbers itself.
    on_the_log: Requests | None = None


async def submit_request(
    form: OpenForm, *, api_key: str | None, ctx: SubmitContext, idempotency_key: str | None = None
) -> SubmitAnswer:
    partner, jurisdiction_id = await ctx.authorise(form, api_key, action="create_request")
    ctx.event_log.refuse_if_unavailable()  # the log known to be down: 503 before anything is stored
    window = retry_window(
        form,
        idempotency_key=idempotency_key,
        dedup_window=ctx.dedup_window,
        sender_window=ctx.sender_retry_window,
    )
    if window is None:
        # Never a retry: a digest no other submission has, so that nothing is found or folded into it.
        digest, window, existing = secrets.token_hex(32), ctx.dedup_window, None
    else:
        digest = body_digest(
            form,
            jurisdiction_id=jurisdiction_id,
            client_id=partner.client_id,
            key=ctx.pepper,
            idempotency_key=idempotency_key,
        )
        existing = await ctx.submissions.recent(digest, window=window)
    if existing is None:
        code = require_service_code(form)
        service = check_service(
            code, await ctx.catalogue.get(jurisdiction_id, code), jurisdiction_id=jurisdiction_id
        )
        accepted = accept_request(form, service, default_phone_region=ctx.default_phone_region)
        contact = await ctx.vault.seal(accepted.contact) if accepted.contact else None
        event_id = new_event_id()
        token = new_token() if accepted.service_type is ServiceType.batch else None

        async def store(number: str) -> tuple[Submission, bool]:
            if ctx.on_the_log is not None and await ctx.on_the_log.get(number) is not None:
                raise request_numbers.RequestNumberTaken(number)
            event = submitted_event(
                accepted,
                client_id=partner.client_id,
                request_number=number,
                event_id=event_id,
                contact=contact,
            )
            submission = Submission(
                digest=digest,
                jurisdiction_id=jurisdiction_id,
                client_id=partner.client_id,
                request_number=number,
                event_id=event_id,
                service_type=accepted.service_type,
                event_json=encode_event(event).decode(),
                token=token,
                service_notice=accepted.service_notice,
            )
            earlier = await ctx.submissions.add(submission, window=window)
            # A concurrent identical POST stored first: answer with its request.
            return (submission, True) if earlier is None else (earlier, False)

        stored, created = await request_numbers.store_with_new_number(PRODUCER, store)
        return await _publish_once(stored, created=created, ctx=ctx)
    return await _publish_once(existing, created=False, ctx=ctx)


async def _publish_once(submission: Submission, *, created: bool, ctx: SubmitContext) -> SubmitAnswer:
    # Just stored (`created`), the row cannot be published yet: its unlocked read is skipped.
    outcome = await publish_stored(
        ctx.submissions, ctx.event_log, str(submission.event_id), stored_now=created
    )
    if outcome.published_now and outcome.position is not None:
        log.info(
            "open311 request submitted",
            extra={
                "request_number": submission.request_number,
                "event_id": str(submission.event_id),
                "client_id": submission.client_id,
                "partition": outcome.position.partition,
                "offset": outcome.position.offset,
            },
        )
    if ctx.request_view is not None and outcome.position is not None:
        # R1-01: a realtime id is returned "immediately", so GET requests/{id} right after must find it. Bounded:
        # the request is on the log either way, and the view shows it once it has caught up.
        await ctx.request_view.wait_until_applied(outcome.position)
    return SubmitAnswer.of(submission, created=created and outcome.published_now)
