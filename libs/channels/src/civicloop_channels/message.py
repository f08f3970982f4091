"""The one port of every channel: an outgoing message, what the provider answered, and the sender's shape."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Channel(str, enum.Enum):
    sms = "sms"
    whatsapp = "whatsapp"
    email = "email"
    push = "push"
    govdelivery = "govdelivery"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST", "image/jpeg"
    content: bytes


@dataclass(frozen=True, repr=False)
class OutgoingMessage:
    """One message to one recipient on one channel.

    `message_id` is the notifier's idempotency key (the event, the resident, the channel): a provider that takes one
    (an SMTP Message-ID, a push topic) gets it, so a resend after a crash is recognisable. `to` is the address on the
    channel: a phone in E.164 (SMS, WhatsApp), an email address, a push subscription as JSON, a govDelivery topic
    code. `repr` leaves out the recipient and the text (personal data never reaches a log).
    """

    message_id: str
    channel: Channel
    to: str
    text: str
    language: str = "en"
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe on email

    def __repr__(self) -> str:
        return f"OutgoingMessage(message_id={self.message_id!r}, channel={self.channel.value})"


class Outcome(str, enum.Enum):
    accepted = "accepted"  # the provider took it (a delivery receipt may follow)
    refused = "refused"  # the provider will never take it (bad number, unsubscribed): try the next channel
    failed = "failed"  # did not go this time (timeout, 5xx, 429): try again later, the same message_id


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider: str  # "twilio", "smtp", "webpush", "govdelivery", ...
    provider_id: str | None = None  # the provider's id for the message (a Twilio SID, an SMTP queue id)
    error: str | None = None  # what the provider said, without the recipient or the text
    retry_after_s: float | None = None  # when the provider said when


class ChannelSender(Protocol):
    """Delivers one message on its channel; never raises for what the provider answered (that is the result)."""

    channel: Channel

    async def send(self, message: OutgoingMessage) -> SendResult: ...
