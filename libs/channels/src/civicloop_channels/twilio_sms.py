"""SMS and WhatsApp through Twilio's Messages API, with the `twilio` SDK's own async client.

The SDK is pointed at another server (a region's, or a local one in tests) by its API domain's `base_url`; requests
go through its aiohttp client, wrapped only to keep a 429's `Retry-After`. What Twilio answers becomes a `SendResult`:
its SID when it took the message, `refused` for its permanent errors about this recipient or message, `failed` for
anything worth another try later (5xx, 429, timeouts, a connection refused, our own credentials or sender rejected,
which an operator fixes). Twilio's error messages quote the recipient's number, so only the status and the code are
kept.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult

PROVIDER = "twilio"
TWILIO_API_BASE_URL = "https://api.twilio.com"

# Permanent answers about this recipient or this message: the next channel may reach the resident, a retry never will.
REFUSING_CODES: Mapping[int, str] = {
    21211: "invalid 'To' number",
    21408: "region not enabled for this account",
    21610: "recipient unsubscribed (replied STOP)",
    21612: "number cannot be reached from this sender",
    21614: "'To' is not a mobile number",
    21617: "body too long",
    21910: "'From' and 'To' on different channels",
    63003: "no WhatsApp account at this number",
    63016: "outside WhatsApp's 24-hour window without a template",
}
# Ours to fix, not the resident's: the message waits (and alerts) rather than moving to another channel.
OPERATOR_CODES: Mapping[int, str] = {
    20003: "authentication failed",
    20429: "too many requests",
    21606: "'From' is not a sending number of this account",
    21212: "invalid 'From' number",
}


def twilio_error_outcome(status: int, code: int | None) -> Outcome:
    """Refused for Twilio's permanent errors about the recipient or message, failed for what another try may fix."""
    if status == 429 or status >= 500:
        return Outcome.failed
    if code in REFUSING_CODES:
        return Outcome.refused
    if code in OPERATOR_CODES or status in (401, 403, 404):  # 404: a wrong account or base URL
        return Outcome.failed
    return Outcome.refused  # any other 4xx: Twilio will not take this message as it is


def twilio_error_text(status: int, code: int | None) -> str:
    """What went wrong, in words that never hold the recipient or the text."""
    known = REFUSING_CODES.get(code or 0) or OPERATOR_CODES.get(code or 0)
    return f"twilio {status} {code or '-'}" + (f": {known}" if known else "")


@dataclass(frozen=True, repr=False)
class TwilioSettings:
    """An account and its senders. `sms_from` / `whatsapp_from` are E.164 numbers; a Messaging Service may stand for
    the SMS sender. `status_callback_url` is where Twilio posts delivery statuses (the notifier's webhook). Requests
    authenticate with an API key when one is set (it can be revoked alone), else with the auth token; webhooks are
    always signed with the auth token."""

    account_sid: str
    auth_token: str
    sms_from: str | None = None
    whatsapp_from: str | None = None
    messaging_service_sid: str | None = None
    status_callback_url: str | None = None
    api_key_sid: str | None = None  # an API key (SK...) authenticates instead of the auth token when set
    api_key_secret: str | None = None
    base_url: str = TWILIO_API_BASE_URL
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # the token never reaches a log
        return f"TwilioSettings(account_sid={self.account_sid!r}, api_key_sid={self.api_key_sid!r}, base_url={self.base_url!r})"


# The headers of the response to the request in progress, per task: the SDK's exception drops them.
_last_headers: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "twilio_headers", default=None
)


class _HeaderKeepingClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        auth = kwargs.pop("auth", None)
        if auth is not None:  # as an Authorization header: aiohttp deprecates its BasicAuth argument
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                "Authorization": aiohttp.encode_basic_auth(*auth),
            }
        response = await super().request(method, url, **kwargs)
        kept = _last_headers.get()
        if kept is not None:
            kept.update({k.lower(): v for k, v in dict(response.headers).items()})
        return response


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` in seconds (Twilio sends seconds; an HTTP date is left to the caller's back-off)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class TwilioSender:
    """A `ChannelSender` for SMS or WhatsApp through one Twilio account; `aclose()` it when done (the SDK's aiohttp
    session, made at the first send, lives in that event loop)."""

    def __init__(self, channel: Channel, settings: TwilioSettings) -> None:
        if channel not in (Channel.sms, Channel.whatsapp):
            raise ValueError(f"Twilio sends sms or whatsapp, not {channel.value}")
        if channel is Channel.whatsapp and not settings.whatsapp_from:
            raise ValueError("a WhatsApp sender needs whatsapp_from")
        if channel is Channel.sms and not (settings.sms_from or settings.messaging_service_sid):
            raise ValueError("an SMS sender needs sms_from or messaging_service_sid")
        self.channel: Channel = channel
        self._settings = settings
        self._http: _HeaderKeepingClient | None = None
        self._client: Any = None

    def _twilio(self) -> Any:
        """The SDK's client, made on first use: its aiohttp session belongs to the running event loop."""
        if self._client is None:
            self._http = _HeaderKeepingClient()
            settings = self._settings
            username, password = (
                (settings.api_key_sid, settings.api_key_secret)
                if settings.api_key_sid and settings.api_key_secret
                else (settings.account_sid, settings.auth_token)
            )
            self._client = Client(
                username, password, account_sid=settings.account_sid, http_client=self._http
            )
            self._client.api.base_url = self._settings.base_url
        return self._client

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _addresses(self, to: str) -> dict[str, Any]:
        settings = self._settings
        if self.channel is Channel.whatsapp:
            return {"to": f"whatsapp:{to}", "from_": f"whatsapp:{settings.whatsapp_from}"}
        if settings.messaging_service_sid and not settings.sms_from:
            return {"to": to, "messaging_service_sid": settings.messaging_service_sid}
        return {"to": to, "from_": settings.sms_from}

    async def send(self, message: OutgoingMessage) -> SendResult:
        kept: dict[str, str] = {}
        token = _last_headers.set(kept)
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                created = await self._twilio().messages.create_async(
                    body=message.text,
                    status_callback=self._settings.status_callback_url or None,
                    **self._addresses(message.to),
                )
        except (TwilioRestException, TwilioServiceException) as error:
            status, code = int(error.status), (int(error.code) if error.code else None)
            return SendResult(
                twilio_error_outcome(status, code),
                PROVIDER,
                error=twilio_error_text(status, code),
                retry_after_s=retry_after_seconds(kept.get("retry-after")) if status == 429 else None,
            )
        except TimeoutError:
            return SendResult(
                Outcome.failed, PROVIDER, error=f"twilio: no answer in {self._settings.timeout_s} s"
            )
        except aiohttp.ClientError as error:
            return SendResult(Outcome.failed, PROVIDER, error=f"twilio: {type(error).__name__}")
        except (
            ValueError
        ):  # a 2xx whose body is not Twilio's JSON: it may have been taken, as after a timeout
            return SendResult(Outcome.failed, PROVIDER, error="twilio: an answer that is not a message")
        finally:
            _last_headers.reset(token)
        return SendResult(Outcome.accepted, PROVIDER, provider_id=str(created.sid))
