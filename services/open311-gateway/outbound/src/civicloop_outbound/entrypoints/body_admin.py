"""Pause and resume a body, and requeue a report given up on it, over HTTP, for a jurisdiction's admin (the admin
pages' buttons; the CLI's `bodies pause`, `bodies resume` and `requeue` do the same from a shell):

* `POST /open311/v2/admin/outbound/bodies/{body_id}/pause` (body `{"reason": "..."}`, optional) and `.../resume`:
  `jurisdiction.body.paused` / `jurisdiction.body.resumed` published on `jurisdiction.config` with the admin as
  actor, answered `202` once on the log (the config fold applies it a moment later; `GET bodies.json` shows it).
* `GET /open311/v2/admin/outbound/bodies/{body_id}/given-up.json`: the body's given-up reports (request number,
  attempts, times requeued, the last error), oldest first, at most 200.
* `POST /open311/v2/admin/outbound/bodies/{body_id}/requeue` (body `{"request_id": "XXXX-XXXX"}`): that request's
  given-up report to the body goes back on its queue with fresh attempts (`request.delivery.requeued` on the requests'
  topic, the admin as actor; the same event, with the same id, as the CLI's: `service_layer.requeue`), answered `202`
  once on the log; `409` if the request has no given-up report to the body.

Admins only (auditors read the status but change nothing); a body of another jurisdiction, or none, is 404. Pausing
a paused body (or resuming a running one) publishes again and changes nothing: the fold keeps the latest state.
"""

from __future__ import annotations

from typing import Annotated, Any

from civicloop_events import Event
from civicloop_events.payloads.bodies import BodyPaused, BodyResumed
from civicloop_events.producer import EventProducer
from civicloop_runtime.app import running_service
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused, require_staff
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from civicloop_outbound.bootstrap import OutboundService
from civicloop_outbound.service_layer.requeue import requeue_event
from civicloop_outbound.service_layer.store import given_up
from civicloop_outbound.settings import OutboundSettings

Admin = Annotated[StaffPrincipal, Depends(require_staff(Role.admin))]
BodyId = Annotated[
    str, PathParam(min_length=1, max_length=64, description="the body, in the token's jurisdiction")
]
CLIENT_ID = "outbound-admin-api"

body_admin = APIRouter(
    prefix="/admin/outbound/bodies",
    tags=["admin"],
    responses={**STAFF_RESPONSES, 404: {"description": "no such body in the token's jurisdiction"}},
)


class PauseBody(BaseModel):
    reason: str = Field(default="", max_length=200, description="why (shown in the status)")


class PublishedRead(BaseModel):
    body_id: str
    published: str = Field(description="the event's type, now on `jurisdiction.config`")


class RequeueReport(BaseModel):
    request_id: str = Field(min_length=1, max_length=64, description="the request whose report was given up")


class GivenUpRead(BaseModel):
    request_id: str
    attempts: int = Field(description="attempts made before it was given up")
    requeues: int = Field(description="times it was requeued before")
    last_error: str | None


async def _known_body(request: Request, admin: StaffPrincipal, body_id: str) -> OutboundService:
    service: OutboundService = running_service(request)
    async with service.pool.connection() as conn:
        cur = await conn.execute(
            "select 1 from outbound.bodies where jurisdiction_id = %s and body_id = %s",
            (admin.jurisdiction_id, body_id),
        )
        if await cur.fetchone() is None:
            raise StaffRefused(404, "not_found", "no such body in this jurisdiction")
    return service


async def _put_on_log(request: Request, topic: str, event: Event[Any]) -> None:
    settings: OutboundSettings = request.app.state.settings
    producer = EventProducer(settings.kafka_bootstrap, topic, client_id=CLIENT_ID)
    await producer.start()
    try:
        await producer.publish(event)
    finally:
        await producer.stop()


async def _publish(request: Request, admin: StaffPrincipal, body_id: str, payload: Any) -> JSONResponse:
    await _known_body(request, admin, body_id)
    settings: OutboundSettings = request.app.state.settings
    event = Event.create(
        payload, request_id=None, jurisdiction_id=admin.jurisdiction_id, actor=admin.actor, source="admin"
    )
    await _put_on_log(request, settings.topics.jurisdiction_config, event)
    read = PublishedRead(body_id=body_id, published=payload.event_type)
    return JSONResponse(read.model_dump(), status_code=202)


@body_admin.post("/{body_id}/pause", status_code=202, response_model=PublishedRead)
async def pause_body(
    request: Request, body_id: BodyId, admin: Admin, body: PauseBody | None = None
) -> JSONResponse:
    """Stop sending to the body: its reports queue, and go out in order on resume."""
    return await _publish(
        request, admin, body_id, BodyPaused(body_id=body_id, reason=(body or PauseBody()).reason)
    )


@body_admin.post("/{body_id}/resume", status_code=202, response_model=PublishedRead)
async def resume_body(request: Request, body_id: BodyId, admin: Admin) -> JSONResponse:
    """Send to the body again, its queued reports first, in order."""
    return await _publish(request, admin, body_id, BodyResumed(body_id=body_id))


@body_admin.get("/{body_id}/given-up.json", response_model=list[GivenUpRead])
async def given_up_reports(request: Request, body_id: BodyId, admin: Admin) -> list[GivenUpRead]:
    """The body's given-up reports (no more automatic retries), oldest first: what an admin may requeue."""
    service = await _known_body(request, admin, body_id)
    async with service.pool.connection() as conn:
        items = await given_up(conn, body_id=body_id, jurisdiction_id=admin.jurisdiction_id)
    return [
        GivenUpRead(
            request_id=i.request_id, attempts=i.attempts, requeues=i.requeues, last_error=i.last_error
        )
        for i in items[:200]
    ]


@body_admin.post(
    "/{body_id}/requeue",
    status_code=202,
    response_model=PublishedRead,
    responses={409: {"description": "the request has no given-up report to this body"}},
)
async def requeue_report(
    request: Request, body_id: BodyId, admin: Admin, body: RequeueReport
) -> JSONResponse:
    """The request's given-up report to the body back on its queue with fresh attempts, in its place."""
    service = await _known_body(request, admin, body_id)
    async with service.pool.connection() as conn:
        items = await given_up(
            conn, request_id=body.request_id, body_id=body_id, jurisdiction_id=admin.jurisdiction_id
        )
    if not items:
        raise StaffRefused(409, "nothing_given_up", "this request has no given-up report to this body")
    settings: OutboundSettings = request.app.state.settings
    event = requeue_event(items[0], actor=admin.actor, source="admin")
    await _put_on_log(request, settings.topics.request_events, event)
    read = PublishedRead(body_id=body_id, published=event.type)
    return JSONResponse(read.model_dump(), status_code=202)
