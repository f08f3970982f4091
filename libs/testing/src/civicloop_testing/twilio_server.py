"""A local server speaking Twilio's Messages API, for the `twilio` SDK to send through in tests and `make run`.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth (the account SID and auth token, or an
API key's SID and secret), form
fields `To`, `From` or `MessagingServiceSid`, `Body`, `StatusCallback`; answers 201 with the message resource, or
Twilio's JSON error shape (`code`, `message`, `more_info`, `status`) for what Twilio refuses: 20003 bad credentials,
21211 invalid `To`, 21602 no body, 21604 no `To`, 21603 no sender, 21606 not our number, 21610 unsubscribed, 21617
too long, 21910 `whatsapp:` on one side only. Faults on demand: the next requests answer 500 (or 503), 429 with
`Retry-After`, or hang for a while before answering. After accepting, it posts `sent` then `delivered` (or
`undelivered` with 30003 for numbers marked unreachable) to the message's `StatusCallback`, signed as Twilio signs:
`X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + each form field's name and value, sorted by name)),
computed here independently of the SDK, so the SDK's validator checks a real signature. `send_inbound` posts a
resident's text to a webhook, signed the same way; so does `POST /local/inbound` (JSON `{"from": "+1...", "body":
"..."}`, not Twilio's: a test or a newcomer texting "as a resident" the webhook given as `inbound_webhook`).

`proxies` maps a public URL prefix to the local address behind it, as a reverse proxy in front of the notifier does:
a webhook is signed over the public URL (as Twilio signs what it calls) and delivered to the local one.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import httpx
import uvicorn
from civicloop_channels.environment import PROVIDER_VARIABLE, SECRET_REFS, field_variable, secret_variable
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from civicloop_testing.outbox_page import Text, outbox_response
from civicloop_testing.threaded_server import serve_in_thread

API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_WHATSAPP = "whatsapp:"
MAX_BODY = 1600
# Twilio's default opt-out and opt-in keywords on a long code (Advanced Opt-Out off), kept apart from the notifier's.
TWILIO_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
OUTBOX_PATH = "/local/outbox"  # not Twilio's: the texts that went out (JSON, or a page for a browser)
INBOUND_PATH = "/local/inbound"  # not Twilio's: text the notifier "from a resident"


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's webhook signature (HMAC-SHA1 over the URL and the sorted form fields, base64)."""
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Accepted:
    sid: str
    to: str
    sender: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None


@dataclass(frozen=True)
class Callback:
    url: str
    params: dict[str, str]
    answered: int | None  # the webhook's HTTP status, None when it could not be reached


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status" | "hang"
    status: int = 500
    retry_after_s: int | None = None
    raw: str | None = None  # a body not in Twilio's shape (a proxy's HTML page)
    seconds: float = 0.0


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioServer:
    """Twilio's Messages API for one account; `accepted` in the order they came."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        numbers: tuple[str, ...] = ("+15005550006",),
        inbound_webhook: str | None = None,
    ) -> None:
        self.account_sid = account_sid or _new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.numbers = set(numbers)  # the account's sending numbers (SMS and WhatsApp)
        self.api_keys: dict[str, str] = {}  # API key SID (SK...) -> secret, also accepted for basic auth
        self.unsubscribed: set[str] = set()  # numbers that replied STOP: 21610
        self.unreachable: set[str] = set()  # numbers whose delivery fails: `undelivered`, 30003
        self.whatsapp_window_closed: set[str] = set()  # no reply in 24 h: free-form WhatsApp refused, 63016
        self.accepted: list[Accepted] = []
        self.callbacks: list[Callback] = []
        self.inbound: list[dict[str, str]] = []
        # Post the statuses before answering the create request (a callback that overtakes the answer to the send).
        self.callbacks_before_answer = False  # the form of each text posted to a webhook "from a resident"
        self.requests_seen = 0
        self.hangs_ended: list[str] = []  # per hung request, once it is over: "abandoned" or "answered"
        self.url = ""
        self.inbound_webhook = (
            inbound_webhook  # where `POST /local/inbound` texts go (the notifier's webhook)
        )
        self.proxies: dict[str, str] = {}  # public URL prefix -> the local address a proxy forwards it to
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{account}/Messages.json", self._create, methods=["POST"]),
                Route(OUTBOX_PATH, self._outbox, methods=["GET"]),
                Route(INBOUND_PATH, self._text_from_resident, methods=["POST"]),
            ]
        )

    # -- faults, set from the test's thread ---------------------------------------------------------------------

    def answer_next(self, count: int, status: int = 500, *, raw: str | None = None) -> None:
        """The next `count` requests answer `status` (a 5xx outage) in Twilio's error shape, or `raw` as text/html
        (what a load balancer in front of the API answers)."""
        with self._lock:
            self._faults.extend(_Fault("status", status=status, raw=raw) for _ in range(count))

    def throttle_next(self, count: int, retry_after_s: int = 1) -> None:
        """The next `count` requests answer 429 (code 20429) with `Retry-After`."""
        with self._lock:
            self._faults.extend(
                _Fault("status", status=429, retry_after_s=retry_after_s) for _ in range(count)
            )

    def hang_next(self, count: int, seconds: float) -> None:
        """The next `count` requests get no answer for `seconds`; a client gone by then leaves no message."""
        with self._lock:
            self._faults.extend(_Fault("hang", seconds=seconds) for _ in range(count))

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            self.requests_seen += 1
            return self._faults.popleft() if self._faults else None

    def to(self, number: str) -> list[Accepted]:
        return [m for m in self.accepted if m.to.removeprefix(_WHATSAPP) == number]

    def environment(self, sms_from: str, **fields: str) -> dict[str, str]:
        """The `CIVICLOOP_SMS_*` variables a service builds its Twilio sender from (`civicloop_channels.environment`,
        as `make run` sets them): this account, sending from `sms_from` through this server; `fields` adds others
        (`status_callback_url=...`, `timeout_s=...`)."""
        values = {"account_sid": self.account_sid, "sms_from": sms_from, "base_url": self.url, **fields}
        return {
            PROVIDER_VARIABLE: "twilio",
            secret_variable(SECRET_REFS["twilio"]["auth_token"]): self.auth_token,
            **{field_variable(name): value for name, value in values.items()},
        }

    # -- the API ----------------------------------------------------------------------------------------------------

    def _error(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def _authenticated(self, request: Request, account: str) -> bool:
        """The account SID and auth token, or one of the account's API keys (SID and secret)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic ") or account != self.account_sid:
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        expected = self.auth_token if user == self.account_sid else self.api_keys.get(user)
        return expected is not None and secrets.compare_digest(password, expected)

    async def _create(self, request: Request) -> Response:
        fault = self._next_fault()
        form = {k: str(v) for k, v in (await request.form()).items()}  # read first: then a disconnect shows
        if fault and fault.kind == "hang":
            await asyncio.sleep(fault.seconds)  # the provider stalling, not a test waiting for a condition
            if await request.is_disconnected():
                self.hangs_ended.append("abandoned")
                return Response(status_code=499)
            self.hangs_ended.append("answered")
        elif fault and fault.raw is not None:
            return Response(fault.raw, status_code=fault.status, media_type="text/html")
        elif fault:
            headers = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s is not None else None
            code = 20429 if fault.status == 429 else 20500
            return self._error(
                fault.status, code, "Too Many Requests" if code == 20429 else "Internal Server Error", headers
            )
        if not self._authenticated(request, request.path_params["account"]):
            return self._error(401, 20003, "Authenticate")
        problem = self._refusal(form)
        if problem:
            return self._error(400, *problem)
        message = Accepted(
            _new_sid("SM"),
            form["To"],
            form.get("From"),
            form.get("MessagingServiceSid"),
            form["Body"],
            form.get("StatusCallback"),
        )
        self.accepted.append(message)
        if message.status_callback and self.callbacks_before_answer:
            await self._post_statuses(message)
            return JSONResponse(self._resource(message), status_code=201)
        task = BackgroundTask(self._post_statuses, message) if message.status_callback else None
        return JSONResponse(self._resource(message), status_code=201, background=task)

    async def _outbox(self, request: Request) -> Response:
        texts = [Text(m.to, m.sender or m.messaging_service_sid or "", m.body) for m in self.accepted]
        return outbox_response(request, [dataclasses.asdict(m) for m in self.accepted], texts, "Twilio")

    def _refusal(self, form: Mapping[str, str]) -> tuple[int, str] | None:
        to, sender, service = form.get("To", ""), form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return 21604, "A 'To' phone number is required."
        if not sender and not service:
            return 21603, "A 'From' phone number is required."
        if not form.get("Body"):
            return 21602, "Message body is required."
        if sender and to.startswith(_WHATSAPP) != sender.startswith(_WHATSAPP):
            return 21910, "Invalid From and To pair. From and To should be of the same channel"
        number = to.removeprefix(_WHATSAPP)
        if not _E164.match(number):
            return 21211, f"The 'To' number {number} is not a valid phone number."
        if sender and sender.removeprefix(_WHATSAPP) not in self.numbers:
            return (
                21606,
                "The From phone number is not a valid, SMS-capable inbound phone number or short code for your account.",
            )
        if to.startswith(_WHATSAPP) and number in self.whatsapp_window_closed:
            return 63016, "Failed to send freeform message because you are outside the allowed window."
        if number in self.unsubscribed:
            return 21610, "Attempt to send to unsubscribed recipient"
        if len(form["Body"]) > MAX_BODY:
            return 21617, "The concatenated message body exceeds the 1600 character limit."
        return None

    def _resource(self, message: Accepted) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.sender,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}/Media.json"
            },
            "to": message.to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    async def _post_statuses(self, message: Accepted) -> None:
        assert message.status_callback is not None
        final = "undelivered" if message.to.removeprefix(_WHATSAPP) in self.unreachable else "delivered"
        async with httpx.AsyncClient(timeout=10) as client:
            for status in ("sent", final):
                params = {
                    "AccountSid": self.account_sid,
                    "ApiVersion": API_VERSION,
                    "From": message.sender or "",
                    "To": message.to,
                    "MessageSid": message.sid,
                    "SmsSid": message.sid,
                    "MessageStatus": status,
                    "SmsStatus": status,
                }
                if message.messaging_service_sid:
                    params["MessagingServiceSid"] = message.messaging_service_sid
                if status == "undelivered":
                    params["ErrorCode"] = "30003"
                await self._post_signed(client, message.status_callback, params)

    def behind_proxy(self, url: str) -> str:
        """Where a request to the public `url` really goes (it is signed over `url` all the same)."""
        for public, local in self.proxies.items():
            if url.startswith(public):
                return local + url[len(public) :]
        return url

    async def _text_from_resident(self, request: Request) -> Response:
        try:
            asked = await request.json()
            sender, body = str(asked["from"]), str(asked["body"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'a JSON body {"from": "+1...", "body": "..."}'}, status_code=400)
        webhook = str(asked.get("webhook") or self.inbound_webhook or "")
        if not webhook:
            return JSONResponse({"error": "no inbound webhook configured"}, status_code=409)
        try:
            answer = await self.send_inbound(webhook, sender, body)
        except httpx.TransportError:
            return JSONResponse({"error": "the webhook could not be reached"}, status_code=502)
        return JSONResponse(
            {"webhook_status": answer.status_code, "reply": answer.text},
            status_code=200 if answer.is_success else 502,
        )

    async def _post_signed(self, client: httpx.AsyncClient, url: str, params: dict[str, str]) -> Callback:
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
        try:
            answered: int | None = (
                await client.post(self.behind_proxy(url), data=params, headers=headers)
            ).status_code
        except httpx.TransportError:
            answered = None
        callback = Callback(url, params, answered)
        self.callbacks.append(callback)
        return callback

    async def send_inbound(
        self,
        webhook_url: str,
        sender: str,
        body: str,
        *,
        to: str | None = None,
        media: tuple[tuple[str, str], ...] = (),
        sid: str | None = None,
    ) -> httpx.Response:
        """A resident's text to our number, posted to `webhook_url` as Twilio posts it (signed). `media` are the
        (URL, content type) of an MMS's photos. Like Twilio's default opt-out handling on a long code, an opt-out
        keyword blocks further texts to the sender (21610) and an opt-in one lifts the block; both still reach the
        webhook. `sid` repeats an earlier message's id (Twilio retrying a webhook)."""
        ours = to or next(iter(sorted(self.numbers)))
        channel_prefix = _WHATSAPP if sender.startswith(_WHATSAPP) else ""
        sid = sid or _new_sid("MM" if media else "SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "From": sender,
            "To": f"{channel_prefix}{ours.removeprefix(_WHATSAPP)}",
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": "1",
        }
        for index, (url, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = url
            params[f"MediaContentType{index}"] = content_type
        if not channel_prefix:
            self._apply_opt_out_keyword(sender, body)
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, webhook_url, params)}
        self.inbound.append(params)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self.behind_proxy(webhook_url), data=params, headers=headers)

    def _apply_opt_out_keyword(self, sender: str, body: str) -> None:
        word = body.strip().upper()
        if word in TWILIO_OPT_OUT:
            self.unsubscribed.add(sender)
        elif word in TWILIO_OPT_IN:
            self.unsubscribed.discard(sender)


@contextmanager
def twilio_server(**options: Any) -> Iterator[TwilioServer]:
    """A `TwilioServer` on 127.0.0.1:<free port> for the block; its `url` is the SDK's `base_url`."""
    server = TwilioServer(**options)
    with serve_in_thread(server.app) as url:
        server.url = url
        yield server


def main() -> None:
    """`python -m civicloop_testing.twilio_server`: a local Twilio for a developer's machine (`make run`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument(
        "--number", action="append", required=True, help="a sending number of the account (E.164)"
    )
    parser.add_argument("--inbound-webhook", help=f"where {INBOUND_PATH} texts go (the notifier's webhook)")
    args = parser.parse_args()
    server = TwilioServer(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        numbers=tuple(args.number),
        inbound_webhook=args.inbound_webhook,
    )
    print(
        f"Twilio's Messages API on http://127.0.0.1:{args.port}; texts sent: http://127.0.0.1:{args.port}{OUTBOX_PATH}"
    )
    uvicorn.run(server.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
