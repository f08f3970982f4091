"""A local server speaking Vonage's SMS API (an HTTP SMS gateway), the second SMS provider behind the same port.

`POST /sms/json` with `api_key`, `api_secret`, `from`, `to` (international digits, no "+"), `text`, `type`,
`client-ref`, as a form or JSON; answers 200 with `message-count` and a status per message part, as Vonage does:
"0" with a `message-id`, or a non-zero status with `error-text` (2 missing parameters, 3 invalid `to`, 4 bad
credentials, 7 barred number, 1 throttled on demand). A message sent with `callback` gets a delivery receipt posted
there (`delivered`, or `failed` for numbers marked undeliverable); `send_inbound` posts a resident's text. Faults on demand: the next requests answer 500, or hang for a
while before answering (a client gone by then leaves no message).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from civicloop_testing.outbox_page import Text, outbox_response
from civicloop_testing.threaded_server import serve_in_thread

_INTERNATIONAL = re.compile(r"^[1-9]\d{6,14}$")
OUTBOX_PATH = "/local/outbox"  # not Vonage's: the texts that went out (JSON, or a page for a browser)


@dataclass(frozen=True)
class Taken:
    message_id: str
    to: str
    sender: str
    text: str
    client_ref: str | None
    callback: str | None


@dataclass(frozen=True)
class _Fault:
    kind: str  # "http" | "hang" | "throttle"
    status: int = 500
    seconds: float = 0.0
    raw: str | None = None  # a 200 whose body is not Vonage's shape


class VonageServer:
    """Vonage's SMS API for one account; `taken` in the order they came."""

    def __init__(self, *, api_key: str | None = None, api_secret: str | None = None) -> None:
        self.api_key = api_key or secrets.token_hex(4)
        self.api_secret = api_secret or secrets.token_hex(8)
        self.barred: set[str] = set()  # numbers (digits) Vonage will not send to: status 7
        self.undeliverable: set[str] = set()  # numbers (digits) whose receipt says failed
        self.taken: list[Taken] = []
        self.receipts: list[tuple[str, dict[str, str], int | None]] = []  # (url, form, the webhook's status)
        self.hangs_ended: list[str] = []
        self.url = ""
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/sms/json", self._send, methods=["POST"]),
                Route(OUTBOX_PATH, self._outbox, methods=["GET"]),
            ]
        )

    def answer_next(self, count: int, status: int = 500, *, raw: str | None = None) -> None:
        """The next `count` requests answer `status` with a plain body (`raw`, or "Internal Server Error")."""
        with self._lock:
            self._faults.extend(_Fault("http", status=status, raw=raw) for _ in range(count))

    def throttle_next(self, count: int) -> None:
        """The next `count` requests are judged "1" (throttled), in a 200 answer as Vonage sends it."""
        with self._lock:
            self._faults.extend(_Fault("throttle") for _ in range(count))

    def hang_next(self, count: int, seconds: float) -> None:
        with self._lock:
            self._faults.extend(_Fault("hang", seconds=seconds) for _ in range(count))

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def to(self, number: str) -> list[Taken]:
        return [t for t in self.taken if t.to == number.removeprefix("+")]

    async def _outbox(self, request: Request) -> Response:
        texts = [Text(t.to, t.sender, t.text) for t in self.taken]
        return outbox_response(request, [dataclasses.asdict(t) for t in self.taken], texts, "Vonage")

    async def _send(self, request: Request) -> Response:
        fault = self._next_fault()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = {k: str(v) for k, v in (await request.json()).items()}
        else:
            params = {k: str(v) for k, v in (await request.form()).items()}
        if fault and fault.kind == "hang":
            await asyncio.sleep(fault.seconds)  # the gateway stalling, not a test waiting for a condition
            if await request.is_disconnected():
                self.hangs_ended.append("abandoned")
                return Response(status_code=499)
            self.hangs_ended.append("answered")
        elif fault and fault.kind == "http":
            return Response(fault.raw or "Internal Server Error", status_code=fault.status)
        elif fault:
            return self._judged(
                {"status": "1", "error-text": "Throughput Rate Exceeded - please wait [ 30 ] and retry"}
            )
        part, taken = self._take(params)
        receipt = BackgroundTask(self._post_receipt, taken) if taken and taken.callback else None
        return self._judged(part, receipt)

    async def _post_receipt(self, taken: Taken) -> None:
        assert taken.callback is not None
        params = {
            "msisdn": taken.to,
            "to": taken.sender,
            "network-code": "310004",
            "messageId": taken.message_id,
            "price": "0.00750000",
            "status": "failed" if taken.to in self.undeliverable else "delivered",
            "scts": time.strftime("%y%m%d%H%M", time.gmtime()),
            "err-code": "1" if taken.to in self.undeliverable else "0",
            "api-key": self.api_key,
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
        if taken.client_ref:
            params["client-ref"] = taken.client_ref
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                answered: int | None = (await client.post(taken.callback, data=params)).status_code
            except httpx.TransportError:
                answered = None
        self.receipts.append((taken.callback, params, answered))

    async def send_inbound(self, webhook_url: str, sender: str, text: str, *, to: str) -> httpx.Response:
        """A resident's text to our number `to`, posted to `webhook_url` as Vonage's SMS API posts it."""
        params = {
            "msisdn": sender.removeprefix("+"),
            "to": to.removeprefix("+"),
            "messageId": secrets.token_hex(8).upper(),
            "text": text,
            "type": "text" if text.isascii() else "unicode",
            "keyword": (text.split() or [""])[0].upper(),
            "api-key": self.api_key,
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(webhook_url, data=params)

    def _take(self, params: Mapping[str, str]) -> tuple[dict[str, Any], Taken | None]:
        if not all(params.get(name) for name in ("api_key", "api_secret", "from", "to", "text")):
            return {"status": "2", "error-text": "Missing params"}, None
        if not (
            secrets.compare_digest(params["api_key"], self.api_key)
            and secrets.compare_digest(params["api_secret"], self.api_secret)
        ):
            return {"status": "4", "error-text": "Bad Credentials"}, None
        to = params["to"]
        if not _INTERNATIONAL.match(to):
            return {"status": "3", "error-text": f"Invalid to address {to}"}, None
        if to in self.barred:
            return {"status": "7", "error-text": "Number barred."}, None
        taken = Taken(
            secrets.token_hex(8).upper(),
            to,
            params["from"],
            params["text"],
            params.get("client-ref"),
            params.get("callback"),
        )
        self.taken.append(taken)
        part: dict[str, Any] = {
            "to": to,
            "message-id": taken.message_id,
            "status": "0",
            "remaining-balance": "10.00000000",
            "message-price": "0.00750000",
            "network": "310004",
        }
        if taken.client_ref:
            part["client-ref"] = taken.client_ref
        return part, taken

    def _judged(self, part: dict[str, Any], background: BackgroundTask | None = None) -> JSONResponse:
        return JSONResponse({"message-count": "1", "messages": [part]}, background=background)


@contextmanager
def vonage_server(**options: Any) -> Iterator[VonageServer]:
    """A `VonageServer` on 127.0.0.1:<free port> for the block; its `url` is the sender's `base_url`."""
    server = VonageServer(**options)
    with serve_in_thread(server.app) as url:
        server.url = url
        yield server


def main() -> None:
    """`python -m civicloop_testing.vonage_server`: a local Vonage SMS API for a developer's machine."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True)
    args = parser.parse_args()
    server = VonageServer(api_key=args.api_key, api_secret=args.api_secret)
    print(
        f"Vonage's SMS API on http://127.0.0.1:{args.port}; texts sent: http://127.0.0.1:{args.port}{OUTBOX_PATH}"
    )
    uvicorn.run(server.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
