"""The HTTP client an adapter talks to its back-end with: auth from secret refs, and the back-end's failures sorted
into the two kinds the Open311 side answers differently (unavailable -> 503, rejected -> 400)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from civicloop_runtime.secrets import resolve_secret

from civicloop_backend_adapters.config import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
)
from civicloop_backend_adapters.domain.backend import BackendRejected, BackendUnavailable

log = logging.getLogger("civicloop.backend_adapters")

MESSAGE_KEYS = ("message", "detail", "error", "error_description", "description")


def auth_headers(auth: NoAuth | BearerAuth | BasicAuth | ApiKeyAuth | None) -> tuple[dict[str, str], Any]:
    """(headers, httpx auth) for the configured scheme; secrets are resolved now, so a missing one fails at start."""
    if auth is None or isinstance(auth, NoAuth):
        return {}, None
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {resolve_secret(auth.token_ref)}"}, None
    if isinstance(auth, BasicAuth):
        return {}, httpx.BasicAuth(auth.username, resolve_secret(auth.password_ref))
    return {auth.header: resolve_secret(auth.key_ref)}, None


def their_message(response: httpx.Response) -> str:
    """The back-end's own words for a refusal, kept short."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message: Any = None
    if isinstance(body, dict):
        for key in MESSAGE_KEYS:
            if body.get(key):
                message = body[key]
                break
    elif isinstance(body, str):
        message = body
    if message is None:
        message = response.text.strip() or response.reason_phrase
    if not isinstance(message, str):
        message = str(message)
    return message[:500]


def make_client(base_url: str, auth: Any, timeout_s: float) -> httpx.AsyncClient:
    headers, basic = auth_headers(auth)
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Accept": "application/json", **headers},
        auth=basic,
        timeout=timeout_s,
        follow_redirects=False,
    )


async def call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One call to the back-end: 2xx is returned; 4xx raises BackendRejected; timeouts, connection failures and
    5xx raise BackendUnavailable."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        log.warning("back-end timed out", extra={"url": url, "error": type(exc).__name__})
        raise BackendUnavailable("The back-end did not answer in time.") from exc
    except httpx.HTTPError as exc:
        log.warning("back-end unreachable", extra={"url": url, "error": type(exc).__name__})
        raise BackendUnavailable("The back-end is unreachable.") from exc
    if response.status_code >= 500:
        log.warning("back-end failed", extra={"url": url, "status": response.status_code})
        raise BackendUnavailable(f"The back-end failed (HTTP {response.status_code}).")
    if response.status_code >= 400:
        raise BackendRejected(response.status_code, their_message(response))
    return response
