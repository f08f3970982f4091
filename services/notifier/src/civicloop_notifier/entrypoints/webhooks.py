"""Twilio's webhooks on the notifier, deliberately public: the signature is the check.

* `POST /webhooks/twilio/status` — a delivery-status callback for a text we sent (`StatusCallback`).
* `POST /webhooks/twilio/inbound` — a resident's text (SMS or WhatsApp), answered with TwiML.

Twilio signs over the URL it called, which is the notifier's PUBLIC address (`CIVICLOOP_PUBLIC_URL`), not the one a
proxy forwarded to: the check uses that. The form is read no further than `CIVICLOOP_NOTIFIER_WEBHOOK_MAX_BYTES`; a
request without a genuine signature is refused 403 before anything in it is believed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from civicloop_channels.sms_webhooks import (
    SIGNATURE_HEADER,
    NotAWebhook,
    delivery_receipt,
    inbound_text,
    twiml_reply,
)
from civicloop_events.payloads import NotificationChannel
from civicloop_runtime.app import running_service
from fastapi import APIRouter, Depends, HTTPException, Request, Response

from civicloop_notifier.bootstrap import Notifier
from civicloop_notifier.service_layer.inbound_texts import IncomingMessage

STATUS_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/inbound"
_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not signed by our Twilio account"},
    413: {"description": "the form is larger than a webhook's"},
}

router = APIRouter(tags=["webhooks"], responses=_REFUSALS)


async def _read_limited(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, "too large")
    return bytes(body)


async def signed_form(request: Request) -> dict[str, str]:
    """The posted form, once its `X-Twilio-Signature` is Twilio's over our public URL."""
    notifier: Notifier = running_service(request)
    check = notifier.twilio_signature
    if check is None:
        raise HTTPException(403, "not signed")
    body = await _read_limited(request, notifier.settings.notifier_webhook_max_bytes)
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise HTTPException(403, "not signed") from None
    url = notifier.settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not check.is_genuine(url, form, request.headers.get(SIGNATURE_HEADER)):
        raise HTTPException(403, "not signed")
    return form


Form = Annotated[dict[str, str], Depends(signed_form)]


@router.post(STATUS_PATH, status_code=204)
async def twilio_status(request: Request, form: Form) -> Response:
    """A delivery status of a text we sent: kept on its attempt; an accepted text that never arrived goes on to the
    resident's next channel. Twilio retries: a repeat changes nothing."""
    notifier: Notifier = running_service(request)
    try:
        receipt = delivery_receipt(form)
    except NotAWebhook:
        raise HTTPException(400, "not a status callback") from None
    if notifier.receipts is None:
        raise HTTPException(503, "not ready")
    await notifier.receipts.received(receipt.provider_id, receipt.state.value, receipt.error_code)
    return Response(status_code=204)


@router.post(INBOUND_PATH, response_class=Response)
async def twilio_inbound(request: Request, form: Form) -> Response:
    """A resident's text: the answer is TwiML (one message back, or none)."""
    notifier: Notifier = running_service(request)
    try:
        text = inbound_text(form)
    except NotAWebhook:
        raise HTTPException(400, "not an inbound message") from None
    if notifier.inbound is None:
        raise HTTPException(503, "not ready")
    reply = await notifier.inbound.text(
        IncomingMessage(text.provider_id, NotificationChannel(text.channel.value), text.sender, text.text)
    )
    return Response(twiml_reply(reply), media_type="application/xml")
