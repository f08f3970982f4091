"""SMS through a second provider, Vonage's SMS API (an HTTP SMS gateway), behind the same `ChannelSender` port.

`POST {base_url}/sms/json` with the account's `api_key` and `api_secret` in the form, `from`, `to` (international
digits, no "+"), `text` and `client-ref` (our message id, echoed in delivery receipts). Vonage answers 200 for what
it judged, with a status per message part: "0" taken (its `message-id` is the provider id), a non-zero status for
what it would not take. Its `error-text` can quote the number, so only the status and our words for it are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult
from civicloop_channels.sms_webhooks import DeliveryReceipt, DeliveryState, InboundText, NotAWebhook

PROVIDER = "vonage"
VONAGE_SMS_BASE_URL = "https://rest.nexmo.com"
CLIENT_REF_MAX = 100  # Vonage's limit on client-ref

# Vonage's statuses about this recipient or message: the next channel may reach the resident, a retry never will.
REFUSING_STATUSES: Mapping[str, str] = {
    "3": "invalid parameters (the number)",
    "6": "message not routable",
    "7": "number barred",
    "12": "message too long",
    "22": "invalid network code",
    "29": "destination not allowed for this account",
    "33": "number de-activated",
}
# Throttling, its own trouble, or ours to fix (credentials, sender, quota): the message waits.
FAILING_STATUSES: Mapping[str, str] = {
    "1": "throttled",
    "2": "missing parameters",
    "4": "invalid credentials",
    "5": "internal error",
    "8": "account barred",
    "9": "quota exceeded",
    "11": "account not enabled for HTTP",
    "14": "invalid signature",
    "15": "invalid sender address",
}


def vonage_status_outcome(status: str) -> Outcome:
    if status == "0":
        return Outcome.accepted
    if status in FAILING_STATUSES:
        return Outcome.failed
    return Outcome.refused  # any other status: Vonage will not take this message as it is


def vonage_status_text(status: str) -> str:
    known = REFUSING_STATUSES.get(status) or FAILING_STATUSES.get(status)
    return f"vonage status {status}" + (f": {known}" if known else "")


@dataclass(frozen=True, repr=False)
class VonageSettings:
    api_key: str
    api_secret: str
    sms_from: str  # an E.164 number (or an alphanumeric sender where the destination allows one)
    status_callback_url: str | None = None  # where Vonage sends delivery receipts for these messages
    base_url: str = VONAGE_SMS_BASE_URL
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # the secret never reaches a log
        return f"VonageSettings(api_key={self.api_key!r}, base_url={self.base_url!r})"


class VonageSmsSender:
    """A `ChannelSender` for SMS through one Vonage account. `aclose()` it when done."""

    channel: Channel = Channel.sms

    def __init__(self, settings: VonageSettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(base_url=settings.base_url, timeout=settings.timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _form(self, message: OutgoingMessage) -> dict[str, str]:
        settings = self._settings
        form = {
            "api_key": settings.api_key,
            "api_secret": settings.api_secret,
            "from": settings.sms_from.removeprefix("+"),
            "to": message.to.removeprefix("+"),
            "text": message.text,
            "type": "text" if message.text.isascii() else "unicode",
            "client-ref": message.message_id[:CLIENT_REF_MAX],
        }
        if settings.status_callback_url:
            form["callback"] = settings.status_callback_url
        return form

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                response = await self._http.post("/sms/json", data=self._form(message))
        except (TimeoutError, httpx.TimeoutException):
            return SendResult(
                Outcome.failed, PROVIDER, error=f"vonage: no answer in {self._settings.timeout_s} s"
            )
        except httpx.TransportError as error:
            return SendResult(Outcome.failed, PROVIDER, error=f"vonage: {type(error).__name__}")
        if response.status_code != 200:
            return self._http_error(response)
        return self._judged(response)

    def _http_error(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        outcome = Outcome.failed if status in (401, 403, 429) or status >= 500 else Outcome.refused
        retry_after = response.headers.get("retry-after") if status == 429 else None
        return SendResult(
            outcome,
            PROVIDER,
            error=f"vonage HTTP {status}",
            retry_after_s=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )

    def _judged(self, response: httpx.Response) -> SendResult:
        unreadable = SendResult(Outcome.failed, PROVIDER, error="vonage: an answer without message statuses")
        try:
            parts: list[dict[str, Any]] = response.json()["messages"]
            statuses = [str(part["status"]) for part in parts]
            refusing = next((s for s in statuses if s != "0"), None)
            if refusing is not None:
                return SendResult(
                    vonage_status_outcome(refusing), PROVIDER, error=vonage_status_text(refusing)
                )
            return SendResult(Outcome.accepted, PROVIDER, provider_id=str(parts[0]["message-id"]))
        except (ValueError, KeyError, TypeError, IndexError):  # may have been taken, as after a timeout
            return unreadable


# Vonage's delivery receipt statuses in Twilio's vocabulary, which the notifier keeps.
_RECEIPT_STATES: Mapping[str, DeliveryState] = {
    "accepted": DeliveryState.sent,
    "buffered": DeliveryState.sending,
    "unknown": DeliveryState.sent,  # the carrier said nothing final
    "delivered": DeliveryState.delivered,
    "expired": DeliveryState.undelivered,
    "failed": DeliveryState.failed,
    "rejected": DeliveryState.failed,
}


def vonage_delivery_receipt(params: Mapping[str, str]) -> DeliveryReceipt:
    """A Vonage delivery receipt (its `callback` or the account's webhook), as the notifier keeps it: no number.

    The SMS API's webhooks are unsigned unless Vonage's support turns signing on: the notifier serves them on a path
    holding a secret and checks `api-key`.
    """
    message_id, status = params.get("messageId"), params.get("status")
    if not message_id or not status or status not in _RECEIPT_STATES:
        raise NotAWebhook("a delivery receipt without messageId or a known status")
    code = params.get("err-code")
    error = int(code) if code and code.isdigit() and code != "0" else None
    return DeliveryReceipt(message_id, _RECEIPT_STATES[status], error)


def vonage_inbound_text(params: Mapping[str, str]) -> InboundText:
    """A resident's text through Vonage (`msisdn` the sender, `to` our number, international digits)."""
    message_id, sender, recipient = params.get("messageId"), params.get("msisdn"), params.get("to")
    if not message_id or not sender or not recipient:
        raise NotAWebhook("an inbound message without messageId, msisdn or to")
    return InboundText(
        message_id, Channel.sms, f"+{sender.lstrip('+')}", f"+{recipient.lstrip('+')}", params.get("text", "")
    )
