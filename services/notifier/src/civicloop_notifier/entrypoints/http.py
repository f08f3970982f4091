"""The notifier's HTTP app on the service skeleton: `/healthz`, `/readyz`, `/metrics`, and for staff:

* `POST /api/v1/notifier/preview` — who will be notified, and what they will get, if the proposed event (an agent's
  action, as the event it would publish) were saved. Nothing is sent or kept; no contact is shown.
* `POST /api/v1/notifier/unsubscribe?token=` (public) — an email's one-click unsubscribe link (RFC 8058); `GET`
  shows a button that posts it.
* `GET /api/v1/notifier/requests/{number}/messages` — what the request's residents were sent, attempt by attempt
  (channel, provider, provider id, outcome, error, and the provider's later delivery state), and the e-mails staff
  were sent about it (by staff id); never a contact.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from civicloop_events import Event
from civicloop_events.payloads import EventPayload
from civicloop_events.registry import REGISTRY
from civicloop_runtime import process
from civicloop_runtime.app import running_service
from civicloop_runtime.service_http import ServiceHttp
from civicloop_staff.roles import READS_REQUESTS, StaffPrincipal
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import STAFF_RESPONSES, install_staff_verifier, require_staff
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError

from civicloop_notifier.adapters.postgres_store import PostgresNotifierStore, store_transaction
from civicloop_notifier.bootstrap import SERVICE, Notifier, bootstrap
from civicloop_notifier.entrypoints import webhooks
from civicloop_notifier.service_layer.preview import preview
from civicloop_notifier.service_layer.sending import UNSUBSCRIBE_PATH
from civicloop_notifier.settings import NotifierSettings

Staff = Annotated[StaffPrincipal, Depends(require_staff(*READS_REQUESTS))]
router = APIRouter(
    prefix="/api/v1/notifier",
    tags=["notifier"],
    responses={**STAFF_RESPONSES, 400: {"description": "the body is not readable JSON"}},
)
NUMBER = Path(pattern=r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")


class PreviewBody(BaseModel):
    request_id: str = Field(pattern=r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")
    type: str = Field(description="the event type the action would publish, e.g. `request.status.changed`")
    payload: dict[str, Any]


@router.post("/preview")
async def preview_action(body: PreviewBody, request: Request, staff: Staff) -> dict[str, Any]:
    """Who will be notified, and what they will get, for a proposed action (nothing is sent)."""
    # Refused in the shape of every other 422 of this route (FastAPI's validation errors), as documented.
    event_type = REGISTRY.canonical(body.type)
    if event_type not in REGISTRY.event_types():
        raise RequestValidationError([_invalid(("body", "type"), "no such event type")])
    model: type[EventPayload] = REGISTRY.models[(event_type, REGISTRY.latest_version(event_type))]
    try:
        payload = model.model_validate(body.payload)
    except ValidationError as exc:
        raise RequestValidationError(
            [_invalid(("body", "payload", *e["loc"]), e["msg"]) for e in exc.errors(include_input=False)]
        ) from None
    notifier: Notifier = running_service(request)
    proposed = Event.create(
        payload,
        request_id=body.request_id,
        jurisdiction_id=staff.jurisdiction_id,
        actor=staff.actor,
        source="agent",
    )
    async with store_transaction(notifier.pool) as store:
        messages = await preview(store, proposed, texts=notifier.texts, policy=notifier.settings)
    return {"request_id": body.request_id, "messages": [m.__dict__ for m in messages]}


def _invalid(loc: tuple[Any, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": loc, "msg": msg}


@router.get("/requests/{number}/messages")
async def request_messages(request: Request, staff: Staff, number: Annotated[str, NUMBER]) -> dict[str, Any]:
    """Every message owed to the request's residents and every attempt at it, and the e-mails its staff were sent
    about it (escalations, reminders: by staff id, never an address)."""
    notifier: Notifier = running_service(request)
    async with store_transaction(notifier.pool) as store:
        return {
            "request_id": number,
            "messages": await _messages(store, number, staff.jurisdiction_id),
            "staff_messages": await _staff_messages(store, number, staff.jurisdiction_id),
        }


async def _staff_messages(
    store: PostgresNotifierStore, number: str, jurisdiction_id: str
) -> list[dict[str, Any]]:
    cur = await store.conn.execute(
        """select m.message_id, n.cause_event_id, n.kind, n.notice ->> 'reason', m.staff_id, m.role, m.state,
                  m.created_at,
                  coalesce(json_agg(json_build_object(
                    'attempt', a.attempt, 'provider', a.provider, 'provider_message_id', a.provider_message_id,
                    'outcome', a.outcome, 'error', a.error, 'at', a.attempted_at) order by a.attempt)
                    filter (where a.attempt is not null), '[]')
             from notifier.staff_messages m
             join notifier.staff_notices n using (cause_event_id)
             left join notifier.staff_attempts a using (message_id)
            where n.request_id = %s and n.jurisdiction_id = %s
            group by m.message_id, n.cause_event_id order by m.seq""",
        (number, jurisdiction_id),
    )
    return [
        {
            "message_id": str(r[0]),
            "cause_event_id": str(r[1]),
            "kind": r[2],
            "reason": r[3],
            "staff_id": str(r[4]),
            "role": r[5],
            "state": r[6],
            "created_at": r[7].isoformat(),
            "attempts": r[8],
        }
        for r in await cur.fetchall()
    ]


async def _messages(store: PostgresNotifierStore, number: str, jurisdiction_id: str) -> list[dict[str, Any]]:
    cur = await store.conn.execute(
        """select m.notification_id, m.cause_event_id, m.kind, m.state, m.channel, m.created_at,
                  coalesce(json_agg(json_build_object(
                    'channel', a.channel, 'attempt', a.attempt, 'provider', a.provider,
                    'provider_message_id', a.provider_message_id, 'outcome', a.outcome, 'error', a.error,
                    'at', a.attempted_at, 'delivery_state', a.delivery_state, 'delivery_error', a.delivery_error) order by a.attempted_at) filter (where a.attempt is not null), '[]')
             from notifier.messages m left join notifier.attempts a using (notification_id)
            where m.request_id = %s and m.jurisdiction_id = %s
            group by m.notification_id order by m.created_at""",
        (number, jurisdiction_id),
    )
    return [
        {
            "notification_id": str(r[0]),
            "cause_event_id": str(r[1]),
            "kind": r[2],
            "state": r[3],
            "channel": r[4],
            "created_at": r[5].isoformat(),
            "attempts": r[6],
        }
        for r in await cur.fetchall()
    ]


public = APIRouter(tags=["residents"])


@public.post(UNSUBSCRIBE_PATH, responses={404: {"description": "the link is not one this notifier signed"}})
async def unsubscribe(request: Request, token: Annotated[str, Query(max_length=200)]) -> dict[str, bool]:
    """One-click unsubscribe (RFC 8058: a mail client POSTs `List-Unsubscribe=One-Click`; a resident's browser the
    page's form): the contact the link was signed for gets no more email."""
    notifier: Notifier = running_service(request)
    if not await notifier.preferences.unsubscribe(token):
        raise HTTPException(404, "unknown link")
    return {"unsubscribed": True}


@public.get(UNSUBSCRIBE_PATH, response_class=HTMLResponse)
async def unsubscribe_page(token: Annotated[str, Query(max_length=200)]) -> str:
    """The link opened in a browser: a button, so a mail scanner following links unsubscribes nobody."""
    return (
        "<!doctype html><title>Unsubscribe</title><form method=post action='?token="
        + html.escape(token, quote=True)
        + "'><button>Stop these emails / Dejar de recibir estos correos</button></form>"
    )


WEBHOOKS = "/webhooks/"  # signed by the provider; their pace, not a client's

HTTP = ServiceHttp(
    SERVICE,
    NotifierSettings,
    bootstrap,
    title="CivicLoop notifier",
    description="Residents hear back: what was sent to whom (by request), and a preview of what an action sends.",
    routers=(router, public, webhooks.router),
    path_limits=lambda settings: {WEBHOOKS: settings.notifier_webhook_rate_limit},
    limited_apart=(WEBHOOKS,),
)


def create_app(
    settings: NotifierSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    settings = settings or NotifierSettings()
    app = HTTP.create_app(settings, **adapters)
    install_staff_verifier(app, staff_verifier or settings.staff_verifier_or_closed(settings.env))
    return app


def app_from_environment() -> FastAPI:
    return process.app_from_environment(SERVICE, NotifierSettings, create_app)
