"""POST servicerequestupdates (FX-10): a partner comments on, or moves the status of, a request it submitted.

A partner may update only the requests it submitted through this gateway (FixMyStreet posts updates on the reports
it sent): any other existing request is a 403, an unknown one a 404. The events are built once and kept with the
update, so a retry with the same `update_id` publishes the same events and answers with the same id; the same
`update_id` with different content is refused (FX-11: "already exists").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from civicloop_events import encode_event, new_event_id
from civicloop_events.outbox import publish_stored
from civicloop_events.payloads import RequestStatus
from civicloop_open311.forms import OpenForm, body_digest

from civicloop_gateway.domain.post_update import read_update, update_events
from civicloop_gateway.domain.submit_errors import Conflict, Forbidden, NotFound
from civicloop_gateway.service_layer.partner_auth import PartnerWriteContext
from civicloop_gateway.service_layer.submit_ports import (
    EventLog,
    KnownRequest,
    Requests,
    RequestView,
    StoredUpdate,
    Submissions,
    Updates,
)

log = logging.getLogger("civicloop.gateway.updates")


@dataclass(frozen=True)
class UpdateContext(PartnerWriteContext):
    requests: Requests
    submissions: Submissions
    updates: Updates
    event_log: EventLog
    pepper: bytes
    request_view: RequestView | None = None


@dataclass(frozen=True)
class UpdateAnswer:
    update_id: str
    published_events: int
    created: bool


async def post_update(form: OpenForm, *, api_key: str | None, ctx: UpdateContext) -> UpdateAnswer:
    partner, jurisdiction_id = await ctx.authorise(form, api_key, action="post_service_request_update")
    ctx.event_log.refuse_if_unavailable()  # the log known to be down: 503 before anything is stored
    update = read_update(form)
    digest = body_digest(form, jurisdiction_id=jurisdiction_id, client_id=partner.client_id, key=ctx.pepper)
    if update.partner_update_id is not None:
        earlier = await ctx.updates.by_partner_id(
            jurisdiction_id, partner.client_id, update.partner_update_id
        )
        if earlier is not None:
            return await _publish_once(_same_update(earlier, digest), created=False, ctx=ctx)

    request = await _request(update.service_request_id, jurisdiction_id=jurisdiction_id, ctx=ctx)
    if request.submitted_by != partner.client_id:
        raise Forbidden(
            f"client {partner.client_id!r} may post updates only to the requests it submitted; "
            f"{update.service_request_id!r} was not."
        )
    comment_id, status_id = new_event_id(), new_event_id()
    events = update_events(
        update,
        jurisdiction_id=jurisdiction_id,
        client_id=partner.client_id,
        current_status=request.status,
        event_ids=(comment_id, status_id),
    )
    stored = StoredUpdate(
        update_id=str(events[0].event_id if events else comment_id),
        jurisdiction_id=jurisdiction_id,
        client_id=partner.client_id,
        partner_update_id=update.partner_update_id,
        service_request_id=update.service_request_id,
        digest=digest,
        events_json=[encode_event(e).decode() for e in events],
    )
    earlier = await ctx.updates.add(stored)
    if earlier is not None:  # a concurrent retry with the same update_id stored first
        return await _publish_once(_same_update(earlier, digest), created=False, ctx=ctx)
    return await _publish_once(stored, created=True, ctx=ctx)


def _same_update(earlier: StoredUpdate, digest: str) -> StoredUpdate:
    if earlier.digest != digest:
        raise Conflict(f"update_id {earlier.partner_update_id!r} already exists with different content.")
    return earlier


async def _request(service_request_id: str, *, jurisdiction_id: str, ctx: UpdateContext) -> KnownRequest:
    """The request from the view; a request this gateway just published and the view has not yet read counts too."""
    known = await ctx.requests.get(service_request_id)
    ours = await ctx.submissions.submitted_by(service_request_id)
    if known is None and ours is not None:
        known = KnownRequest(
            service_request_id, jurisdiction_id=ours[0], status=RequestStatus.open, submitted_by=ours[1]
        )
    elif known is not None and ours is not None:
        known = KnownRequest(
            known.service_request_id, known.jurisdiction_id, known.status, submitted_by=ours[1]
        )
    if known is None or known.jurisdiction_id != jurisdiction_id:
        raise NotFound(
            f"service_request_id {service_request_id!r} not found in jurisdiction {jurisdiction_id!r}."
        )
    return known


async def _publish_once(update: StoredUpdate, *, created: bool, ctx: UpdateContext) -> UpdateAnswer:
    outcome = await publish_stored(ctx.updates, ctx.event_log, update.update_id, stored_now=created)
    if not outcome.published_now:
        return UpdateAnswer(update.update_id, len(update.events_json), created=False)
    if ctx.request_view is not None and outcome.position is not None:
        await ctx.request_view.wait_until_applied(
            outcome.position
        )  # GET servicerequestupdates right after shows it
    log.info(
        "open311 update posted",
        extra={
            "update_id": update.update_id,
            "client_id": update.client_id,
            "request_number": update.service_request_id,
            "events": len(update.events_json),
        },
    )
    return UpdateAnswer(update.update_id, len(update.events_json), created=created)
