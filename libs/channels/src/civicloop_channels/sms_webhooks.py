"""What Twilio posts to us: delivery-status callbacks and residents' inbound texts, checked with the SDK's own
`RequestValidator` before anything in them is believed.

Twilio signs a webhook with the account's auth token over the exact URL it called (the public one configured in the
console or as `StatusCallback`, not the address a proxy forwarded to) and the posted form fields; the notifier's
webhook passes that public URL, the form and the `X-Twilio-Signature` header. Parsing is pure; an inbound text keeps
the sender's number and words out of its `repr`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.twiml.messaging_response import MessagingResponse  # type: ignore[import-untyped]

from civicloop_channels.message import Channel

SIGNATURE_HEADER = "X-Twilio-Signature"
_WHATSAPP_PREFIX = "whatsapp:"


class TwilioSignatureCheck:
    """Is this request from Twilio? `params` are the posted form fields (every one, as posted)."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def __repr__(self) -> str:
        return "TwilioSignatureCheck()"

    def is_genuine(self, public_url: str, params: Mapping[str, str], signature: str | None) -> bool:
        if not signature:
            return False
        return bool(self._validator.validate(public_url, dict(params), signature))


class DeliveryState(str, enum.Enum):
    """Twilio's `MessageStatus` values for an outgoing message."""

    accepted = "accepted"
    scheduled = "scheduled"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    read = "read"  # WhatsApp
    undelivered = "undelivered"
    failed = "failed"
    canceled = "canceled"

    @property
    def final(self) -> bool:
        return self in (
            DeliveryState.delivered,
            DeliveryState.read,
            DeliveryState.undelivered,
            DeliveryState.failed,
            DeliveryState.canceled,
        )

    @property
    def reached(self) -> bool:
        return self in (DeliveryState.delivered, DeliveryState.read)


@dataclass(frozen=True)
class DeliveryReceipt:
    """A status callback, reduced to what the notifier keeps: no number, no text."""

    provider_id: str  # the message's SID, as `SendResult.provider_id` had it
    state: DeliveryState
    error_code: int | None  # e.g. 30003 unreachable, 30005 unknown number, 30006 landline, 30007 filtered


class NotAWebhook(ValueError):
    """The form lacks what Twilio always sends (a forged or mistaken request)."""


def delivery_receipt(params: Mapping[str, str]) -> DeliveryReceipt:
    sid, status = params.get("MessageSid"), params.get("MessageStatus")
    if not sid or not status:
        raise NotAWebhook("a status callback without MessageSid or MessageStatus")
    try:
        state = DeliveryState(status)
    except ValueError:
        raise NotAWebhook("a status callback with an unknown MessageStatus") from None
    code = params.get("ErrorCode")
    return DeliveryReceipt(sid, state, int(code) if code and code.isdigit() else None)


@dataclass(frozen=True)
class InboundMedia:
    """A photo (or other file) sent with a text: Twilio keeps it at `url`, fetched with the account's credentials."""

    url: str
    content_type: str


@dataclass(frozen=True, repr=False)
class InboundText:
    """A text a resident sent us: on which channel, from which number (E.164, the `whatsapp:` prefix removed)."""

    provider_id: str
    channel: Channel
    sender: str
    recipient: str  # our number it was sent to
    text: str
    media: tuple[InboundMedia, ...] = ()

    def __repr__(self) -> str:
        return f"InboundText(provider_id={self.provider_id!r}, channel={self.channel.value}, media={len(self.media)})"


def inbound_text(params: Mapping[str, str]) -> InboundText:
    sid, sender, recipient = params.get("MessageSid"), params.get("From"), params.get("To")
    if not sid or not sender or not recipient:
        raise NotAWebhook("an inbound message without MessageSid, From or To")
    channel = Channel.whatsapp if sender.startswith(_WHATSAPP_PREFIX) else Channel.sms
    return InboundText(
        sid,
        channel,
        sender.removeprefix(_WHATSAPP_PREFIX),
        recipient.removeprefix(_WHATSAPP_PREFIX),
        params.get("Body", ""),
        _media(params),
    )


def _media(params: Mapping[str, str]) -> tuple[InboundMedia, ...]:
    count = params.get("NumMedia", "0")
    return tuple(
        InboundMedia(
            params[f"MediaUrl{index}"], params.get(f"MediaContentType{index}", "application/octet-stream")
        )
        for index in range(int(count) if count.isdigit() else 0)
        if params.get(f"MediaUrl{index}")
    )


def twiml_reply(text: str | None) -> str:
    """The TwiML answering an inbound text: one message back, or nothing (an empty `<Response/>`)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)
