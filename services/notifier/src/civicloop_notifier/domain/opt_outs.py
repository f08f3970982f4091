"""Opt-outs are kept per contact and channel under a peppered digest of the normalised contact, never the contact,
so the table tells nothing about anyone and survives the resident's erasure (a STOP stays a STOP)."""

from __future__ import annotations

import hashlib
import hmac

from civicloop_events.payloads import NotificationChannel

PHONE_CHANNELS = frozenset({NotificationChannel.sms, NotificationChannel.whatsapp})


def normalised_address(channel: NotificationChannel, address: str) -> str:
    """A phone as digits with its `+` (a `whatsapp:` prefix dropped), an email address in lower case."""
    if channel in PHONE_CHANNELS:
        address = address.removeprefix("whatsapp:")
        return "".join(ch for ch in address if ch.isdigit() or ch == "+")
    return address.strip().lower()


def contact_digest(pepper: bytes, channel: NotificationChannel, address: str) -> bytes:
    """HMAC-SHA256 of the channel and the normalised address under the deployment's pepper."""
    message = f"opt-out:{channel.value}:{normalised_address(channel, address)}".encode()
    return hmac.new(pepper, message, hashlib.sha256).digest()
