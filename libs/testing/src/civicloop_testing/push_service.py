"""A web push service (RFC 8030) on 127.0.0.1 for tests: it plays both the push service and the browser.

`subscribe()` makes what a browser would (a P-256 key pair and an auth secret) and gives the subscription JSON a
sender receives. A push is checked as a real push service checks it (a `TTL`, `Content-Encoding: aes128gcm`, the
VAPID JWT of RFC 8292: ES256, signed by the key in `k`, for this origin, expiring within 24 h, with a contact in
`sub`, and the application server key the subscription was made for), then decrypted with the subscription's
private key (RFC 8291 / RFC 8188) and kept. A message with the `Topic` of one still kept replaces it (RFC 8030 §5.4).

Faults on demand: `unsubscribe` (410 Gone), `answer_with(429 or 5xx, retry_after, times)`, `hang_for(seconds)`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece  # type: ignore[import-untyped]
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from civicloop_testing.threaded_server import serve_in_thread

_VAPID = re.compile(r"^vapid\s+(.+)$", re.IGNORECASE)
_MAX_PAYLOAD = 4096


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: bytes | None
    gone: bool = False


@dataclass(frozen=True)
class Pushed:
    """One message as the browser would get it: decrypted, with what the push service saw."""

    subscription_id: str
    message_id: str  # the push service's own id (the last segment of the `Location` it answered)
    payload: bytes
    topic: str | None
    ttl: int
    urgency: str | None
    vapid_claims: dict[str, Any]

    @property
    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class _Fault:
    status: int
    retry_after: str | None
    times: int


@dataclass
class PushService:
    base_url: str = ""
    _subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    _kept: list[Pushed] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _hang_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: int = 0  # every POST that reached a subscription's endpoint, whatever it was answered

    # -- what a test does, from its own thread ------------------------------------------------------------------

    def subscribe(self, application_server_key: bytes | None = None) -> dict[str, Any]:
        """A new browser subscription: the JSON `PushSubscription.toJSON()` gives. With `application_server_key`
        (the VAPID public key, uncompressed point), only pushes signed by that key are taken, as browsers require."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        public = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        auth = secrets.token_bytes(16)
        subscription_id = uuid.uuid4().hex
        with self._lock:
            self._subscriptions[subscription_id] = _Subscription(private_key, auth, application_server_key)
        return {
            "endpoint": f"{self.base_url}/push/{subscription_id}",
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def unsubscribe(self, subscription: dict[str, Any]) -> None:
        """The browser dropped it: from now on its endpoint answers 410 Gone."""
        with self._lock:
            self._subscriptions[_id_of(subscription)].gone = True

    def answer_with(self, status: int, *, retry_after: str | None = None, times: int = 1) -> None:
        """The next `times` pushes (to any subscription) are answered `status`, before any check."""
        with self._lock:
            self._faults.append(_Fault(status, retry_after, times))

    def hang_for(self, seconds: float) -> None:
        """Every push waits this long before it is handled (0 to stop)."""
        with self._lock:
            self._hang_s = seconds

    def received(self, subscription: dict[str, Any] | None = None) -> list[Pushed]:
        """What is kept for the browser (of `subscription`, or all), in arrival order."""
        with self._lock:
            kept = list(self._kept)
        if subscription is None:
            return kept
        wanted = _id_of(subscription)
        return [p for p in kept if p.subscription_id == wanted]

    # -- the push service -----------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/push/{subscription_id}", self._push, methods=["POST"]),
                # The browser's side, for a person running it by hand (`python -m civicloop_testing.push_service`).
                Route("/subscriptions", self._new_subscription, methods=["POST"]),
                Route("/received", self._received, methods=["GET"]),
            ]
        )

    async def _new_subscription(self, request: Request) -> Response:
        asked = json.loads(await request.body() or b"{}")
        key = asked.get("applicationServerKey") if isinstance(asked, dict) else None
        subscription = self.subscribe(unb64url(key) if isinstance(key, str) else None)
        return JSONResponse(subscription, status_code=201)

    async def _received(self, request: Request) -> Response:
        shown = [
            {"subscription": p.subscription_id, "message": p.message_id, "topic": p.topic, "payload": p.json}
            for p in self.received()
        ]
        return JSONResponse(shown)

    async def _push(self, request: Request) -> Response:
        subscription_id = request.path_params["subscription_id"]
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
            if subscription is not None:
                self.attempts += 1
            hang = self._hang_s
            fault = self._next_fault()
        if hang:
            await asyncio.sleep(hang)  # the provider's own slowness, which a sender's timeout must cut short
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return Response(status_code=fault.status, headers=headers)
        if subscription is None:
            return _problem(404, "no such subscription")
        if subscription.gone:
            return _problem(410, "the subscription expired or was unsubscribed")
        body = await request.body()
        checked = self._checked(request, subscription, body)
        if isinstance(checked, Response):
            return checked
        try:
            payload: bytes = http_ece.decrypt(
                body, private_key=subscription.private_key, auth_secret=subscription.auth, version="aes128gcm"
            )
        except Exception:  # whatever fails to decrypt is the sender's fault, answered as such
            return _problem(400, "the payload does not decrypt with the subscription's keys")
        message_id = uuid.uuid4().hex
        topic = request.headers.get("topic")
        pushed = Pushed(
            subscription_id,
            message_id,
            payload,
            topic,
            int(request.headers["ttl"]),
            request.headers.get("urgency"),
            checked,
        )
        with self._lock:
            if topic is not None:  # a newer message on a topic replaces the one still waiting (RFC 8030 §5.4)
                self._kept = [
                    p for p in self._kept if not (p.subscription_id == subscription_id and p.topic == topic)
                ]
            self._kept.append(pushed)
        return Response(status_code=201, headers={"Location": f"{self.base_url}/message/{message_id}"})

    def _next_fault(self) -> _Fault | None:
        while self._faults and self._faults[0].times <= 0:
            self._faults.pop(0)
        if not self._faults:
            return None
        self._faults[0].times -= 1
        return self._faults[0]

    def _checked(
        self, request: Request, subscription: _Subscription, body: bytes
    ) -> dict[str, Any] | Response:
        """The VAPID claims when the request is one a push service takes, else the answer it gets."""
        ttl = request.headers.get("ttl", "")
        if not ttl.isdigit():
            return _problem(400, "a TTL header is required")
        if request.headers.get("content-encoding", "").lower() != "aes128gcm":
            return _problem(415, "only aes128gcm is accepted")
        if len(body) > _MAX_PAYLOAD:
            return _problem(413, "payload too large")
        vapid = _VAPID.match(request.headers.get("authorization", ""))
        if vapid is None:
            return _problem(401, "VAPID authorization required")
        params = dict(part.strip().split("=", 1) for part in vapid.group(1).split(",") if "=" in part)
        if "t" not in params or "k" not in params:
            return _problem(401, "VAPID needs t and k")
        try:
            server_key = unb64url(params["k"])
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_key)
            claims: dict[str, Any] = jwt.decode(
                params["t"],
                key=public_key,
                algorithms=["ES256"],
                audience=self.base_url,
                options={"require": ["aud", "exp", "sub"]},
            )
        except (ValueError, jwt.PyJWTError):
            return _problem(401, "the VAPID token does not verify")
        if claims["exp"] > time.time() + 24 * 3600:
            return _problem(401, "a VAPID token may not live more than 24 hours")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return _problem(401, "the VAPID sub is a mailto: or https: contact")
        if (
            subscription.application_server_key is not None
            and server_key != subscription.application_server_key
        ):
            return _problem(403, "signed by another key than the subscription's application server key")
        return claims


def _problem(status: int, detail: str) -> Response:
    return Response(json.dumps({"errno": status, "message": detail}), status, media_type="application/json")


def _id_of(subscription: dict[str, Any]) -> str:
    return str(subscription["endpoint"]).rsplit("/", 1)[-1]


def main() -> None:
    """`python -m civicloop_testing.push_service --port 24080`: the push service for a local run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    service = PushService(base_url=f"http://127.0.0.1:{port}")
    uvicorn.run(service.app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def push_service() -> Iterator[PushService]:
    """A push service on 127.0.0.1:<free port> for the block."""
    service = PushService()
    with serve_in_thread(service.app()) as base_url:
        service.base_url = base_url
        yield service


if __name__ == "__main__":
    main()
