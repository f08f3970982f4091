"""Webhook: a JSON document POSTed to the body's URL, signed.

Headers: `X-CivicLoop-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret named by
`secret_ref`>`, `X-CivicLoop-Timestamp` (Unix seconds of this attempt), `X-CivicLoop-Delivery` (stable across
retries of one item: a receiver drops a repeat by it), `X-CivicLoop-Event: request.submitted`.

2xx is success (a JSON answer's `external_id`, `id` or `service_request_id` becomes the external reference); 408,
429, 5xx, timeouts and connection errors are temporary; any other 4xx (and 3xx: redirects are not followed) is
permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from civicloop_events.payloads import SendMethod
from civicloop_runtime.secrets import SecretNotFound, resolve_secret

from civicloop_outbound.domain.ports import (
    BodyRecord,
    OutboundItem,
    PermanentFailure,
    Sender,
    SendResult,
    TemporaryFailure,
)

SIGNATURE_HEADER = "X-CivicLoop-Signature"
TIMESTAMP_HEADER = "X-CivicLoop-Timestamp"
DELIVERY_HEADER = "X-CivicLoop-Delivery"


def sign(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def document(body: BodyRecord, item: OutboundItem) -> dict[str, Any]:
    p = item.payload
    request = p.model_dump(mode="json", exclude={"contact", "priority_email"})
    request["url"] = item.request_url
    if item.contact is not None:
        request["contact"] = {
            k: v
            for k, v in {
                "name": item.contact.name,
                "email": item.contact.email,
                "phone": item.contact.phone,
            }.items()
            if v
        }
    return {
        "event": "request.submitted",
        "delivery_id": item.delivery_id,
        "attempt": item.attempt,
        "body_id": body.body_id,
        "request": request,
    }


def external_id_of(response: httpx.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, dict):
        for key in ("external_id", "service_request_id", "id"):
            if answer.get(key) not in (None, ""):
                return str(answer[key])
    return None


class WebhookSender(Sender):
    method = SendMethod.webhook

    def __init__(
        self,
        *,
        timeout_s: float,
        environ: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.environ = environ
        self.client = client

    def destination(self, body: BodyRecord, item: OutboundItem) -> str:
        hook = body.definition.webhook
        return hook.url.split("?", 1)[0] if hook else ""

    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        hook = body.definition.webhook
        if hook is None:
            raise PermanentFailure(f"body {body.body_id!r} has no webhook configured")
        raw = json.dumps(document(body, item), separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CivicLoop-Webhook/1",
            TIMESTAMP_HEADER: str(int(time.time())),
            DELIVERY_HEADER: item.delivery_id,
            "X-CivicLoop-Event": "request.submitted",
        }
        if hook.secret_ref:
            try:
                headers[SIGNATURE_HEADER] = sign(resolve_secret(hook.secret_ref, self.environ), raw)
            except SecretNotFound as exc:
                raise TemporaryFailure(str(exc)) from exc
        try:
            if self.client is not None:
                response = await self.client.post(
                    hook.url, content=raw, headers=headers, timeout=self.timeout_s
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
                    response = await client.post(hook.url, content=raw, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(external_id=external_id_of(response), destination=self.destination(body, item))
        detail = f"HTTP {status}: {response.text[:300]}"
        if status in (408, 429) or status >= 500:
            raise TemporaryFailure(detail)
        raise PermanentFailure(detail)
