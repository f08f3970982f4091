"""Pause and resume a body over HTTP, for a jurisdiction's admin (the admin pages' buttons; the CLI's `bodies pause`
and `bodies resume` do the same from a shell):

* `POST /open311/v2/admin/outbound/bodies/{body_id}/pause` (body `{"reason": "..."}`, optional) and `.../resume`:
  `jurisdiction.body.paused` / `jurisdiction.body.resumed` published on `jurisdiction.config` with the admin as
  actor, answered `202` once on the log (the config fold applies it a moment later; `GET bodies.json` shows it).

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


async def _publish(request: Request, admin: StaffPrincipal, body_id: str, payload: Any) -> JSONResponse:
    service: OutboundService = running_service(request)
    async with service.pool.connection() as conn:
        cur = await conn.execute(
            "select 1 from outbound.bodies where jurisdiction_id = %s and body_id = %s",
            (admin.jurisdiction_id, body_id),
        )
        if await cur.fetchone() is None:
            raise StaffRefused(404, "not_found", "no such body in this jurisdiction")
    settings: OutboundSettings = request.app.state.settings
    producer = EventProducer(
        settings.kafka_bootstrap, settings.topics.jurisdiction_config, client_id=CLIENT_ID
    )
    await producer.start()
    try:
        await producer.publish(
            Event.create(
                payload,
                request_id=None,
                jurisdiction_id=admin.jurisdiction_id,
                actor=admin.actor,
                source="admin",
            )
        )
    finally:
        await producer.stop()
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
