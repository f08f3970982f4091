"""Web push (RFC 8030) through `pywebpush`: the payload encrypted for the browser (RFC 8291, aes128gcm) and the
request signed with the county's VAPID key (RFC 8292).

`OutgoingMessage.to` is the browser's subscription as JSON (`{"endpoint": ..., "keys": {"p256dh": ..., "auth":
...}}`). The endpoint is a capability URL, as personal as a phone number: it never appears in a result or a log.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult

PROVIDER = "webpush"

# RFC 8291 §4: a push service must accept 4096 octets of payload; aes128gcm's header (86 octets for a P-256 key id),
# the padding delimiter and the tag leave 3993 octets of plaintext.
MAX_PLAINTEXT = 3993

_GONE = frozenset(
    {404, 410}
)  # the subscription expired or the browser unsubscribed: it will never take a message


@dataclass(frozen=True)
class WebPushSettings:
    vapid_private_key: (
        str  # the private key, base64url: its 32 raw bytes or its DER (as `vapid --gen` writes)
    )
    vapid_subject: (
        str  # "mailto:" or "https:" contact of the sender, sent to push services in the JWT's `sub`
    )
    ttl_s: int = 7 * 24 * 3600  # how long a push service keeps a message for a browser that is offline
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        # Push services turn away a token without a contact (RFC 8292 §2.1): better at start than on every push.
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ValueError("the VAPID subject is a mailto: or https:// contact")


def push_topic(message_id: str) -> str:
    """The RFC 8030 `Topic` for a message: a resend of the same message replaces the one still waiting in the push
    service instead of reaching the browser twice. At most 32 characters of the base64url alphabet."""
    digest = hashlib.sha256(message_id.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def push_payload(message: OutgoingMessage) -> bytes:
    """What the service worker receives: JSON it shows as a notification. The body is shortened (on a character
    boundary, with an ellipsis) so the whole fits the plaintext a push service must accept."""
    fields: dict[str, str] = {"id": message.message_id, "lang": message.language, "body": message.text}
    if message.subject:
        fields["title"] = message.subject
    encoded = _encode(fields)
    if len(encoded) <= MAX_PLAINTEXT:
        return encoded
    body = message.text
    low, high = 0, len(body)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if len(_encode({**fields, "body": body[:middle] + "…"})) <= MAX_PLAINTEXT:
            low = middle
        else:
            high = middle - 1
    return _encode({**fields, "body": body[:low] + "…"})


def _encode(fields: dict[str, str]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def parse_subscription(to: str) -> dict[str, Any] | None:
    """The subscription JSON a browser gave (`PushSubscription.toJSON()`), or None when it is not one."""
    try:
        subscription = json.loads(to)
    except ValueError:
        return None
    if not isinstance(subscription, dict):
        return None
    endpoint, keys = subscription.get("endpoint"), subscription.get("keys")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    if not isinstance(keys, dict) or not all(isinstance(keys.get(k), str) for k in ("p256dh", "auth")):
        return None
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def result_of_status(status: int, retry_after: str | None) -> SendResult:
    """What a push service's answer means for the notifier (RFC 8030 §5, §8.4)."""
    if status in (200, 201, 202):
        return SendResult(Outcome.accepted, PROVIDER)
    error = f"push service answered {status}"
    if status in _GONE:
        return SendResult(Outcome.refused, PROVIDER, error=f"{error}: the subscription is gone")
    if status == 429 or status >= 500:
        return SendResult(Outcome.failed, PROVIDER, error=error, retry_after_s=_seconds(retry_after))
    # 400 (malformed), 401/403 (the VAPID key is not the one the browser subscribed with), 413 (too large): sending
    # the same message again to the same subscription will not change the answer.
    return SendResult(Outcome.refused, PROVIDER, error=error)


def _seconds(retry_after: str | None) -> float | None:
    if retry_after is None or not retry_after.strip().isdigit():
        return None  # an HTTP date, or nothing: the notifier's own back-off decides
    return float(retry_after.strip())


class WebPushSender:
    """A `ChannelSender` for web push. One aiohttp session for its lifetime (`aclose` at shutdown)."""

    channel = Channel.push

    def __init__(self, settings: WebPushSettings) -> None:
        self._settings = settings
        self._vapid = Vapid.from_string(private_key=settings.vapid_private_key)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: OutgoingMessage) -> SendResult:
        subscription = parse_subscription(message.to)
        if subscription is None:
            return SendResult(Outcome.refused, PROVIDER, error="not a push subscription")
        try:
            response = await webpush_async(
                subscription_info=subscription,
                data=push_payload(message).decode(),
                vapid_private_key=self._vapid,
                # A new dict each time: pywebpush writes the audience and the expiry into the one it is given.
                vapid_claims={"sub": self._settings.vapid_subject},
                ttl=self._settings.ttl_s,
                timeout=self._settings.timeout_s,
                headers={"Topic": push_topic(message.message_id), "Urgency": "normal"},
                aiohttp_session=self._client(),
            )
        except WebPushException as refused:
            if refused.response is None:  # pywebpush refused the subscription's keys before sending
                return SendResult(Outcome.refused, PROVIDER, error="the subscription's keys are not usable")
            return result_of_status(refused.status_code or 0, refused.retry_after)
        except ValueError:  # a key that does not decode to a P-256 point or an auth secret
            return SendResult(Outcome.refused, PROVIDER, error="the subscription's keys are not usable")
        except TimeoutError:
            return SendResult(Outcome.failed, PROVIDER, error="the push service did not answer in time")
        except aiohttp.ClientError as unreachable:
            return SendResult(
                Outcome.failed, PROVIDER, error=f"push service unreachable ({type(unreachable).__name__})"
            )
        result = result_of_status(response.status, response.headers.get("Retry-After"))
        if result.outcome is Outcome.accepted:
            # The push service names the message it keeps by a URL of its own (RFC 8030 §5): its last segment.
            location = response.headers.get("Location", "")
            return SendResult(
                Outcome.accepted, PROVIDER, provider_id=location.rstrip("/").rsplit("/", 1)[-1] or None
            )
        return result

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
