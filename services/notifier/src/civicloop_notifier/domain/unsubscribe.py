"""The unsubscribe link of an email (and its `List-Unsubscribe` header, RFC 8058): a token naming the channel and the
contact's opt-out digest, signed with the deployment's pepper, so the link opts out exactly that contact and cannot
be forged or pointed at another. It carries no contact, only the digest the opt-out table keys on."""

from __future__ import annotations

import base64
import hashlib
import hmac

from civicloop_events.payloads import NotificationChannel


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(pepper: bytes, channel: NotificationChannel, digest: bytes) -> bytes:
    return hmac.new(
        pepper, b"unsubscribe:" + channel.value.encode() + b":" + digest, hashlib.sha256
    ).digest()[:16]


def unsubscribe_token(pepper: bytes, channel: NotificationChannel, digest: bytes) -> str:
    return f"{channel.value}.{_b64(digest)}.{_b64(_mac(pepper, channel, digest))}"


def read_unsubscribe_token(pepper: bytes, token: str) -> tuple[NotificationChannel, bytes] | None:
    """The channel and digest a token names, or None for a token this deployment did not sign."""
    try:
        channel_text, digest_text, mac_text = token.split(".")
        channel = NotificationChannel(channel_text)
        digest, mac = _unb64(digest_text), _unb64(mac_text)
    except ValueError:
        return None
    if len(digest) != 32 or not hmac.compare_digest(mac, _mac(pepper, channel, digest)):
        return None
    return channel, digest
