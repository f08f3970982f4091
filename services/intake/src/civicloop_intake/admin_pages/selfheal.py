"""selfheal as the admin pages reach it, over HTTP with the admin's own token (never its tables): "run now"
(`POST /api/cron/self-heal`) and the latest runs (`GET /api/v1/selfheal/runs`). Whether the cron token is set is
read from intake's own environment (intake's pods carry the same secret: selfheal calls intake's pending sweep with
it); its value never leaves this module."""

from __future__ import annotations

from typing import Any

import httpx
from civicloop_runtime.secrets import SecretNotFound, resolve_secret

from civicloop_intake.console.upstream import SignedOut, Unavailable

CRON_TOKEN_REF = "selfheal.cron-token"  # noqa: S105 - the secret's name, not a secret


class Busy(Exception):
    """A sweep is running already (here or in another replica): its result will be in the runs."""


def cron_token_configured() -> bool:
    try:
        resolve_secret(CRON_TOKEN_REF)
    except SecretNotFound:
        return False
    return True


async def _call(base_url: str, method: str, path: str, token: str, timeout_s: float) -> httpx.Response:
    if not base_url:
        raise Unavailable("not configured")
    try:
        async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s) as client:
            answer = await client.request(method, path, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise Unavailable(type(exc).__name__) from None
    if answer.status_code == 401:
        raise SignedOut
    return answer


async def run_now(base_url: str, token: str, timeout_s: float) -> dict[str, Any]:
    """One sweep, as the admin: what it found and did. `Busy` while another runs."""
    answer = await _call(base_url, "POST", "/api/cron/self-heal", token, timeout_s)
    if answer.status_code == 409:
        raise Busy
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    found: dict[str, Any] = answer.json()
    return found


async def latest_runs(base_url: str, token: str, timeout_s: float) -> list[dict[str, Any]]:
    answer = await _call(base_url, "GET", "/api/v1/selfheal/runs", token, timeout_s)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return list(answer.json()["runs"])


def counted(counts: Any) -> list[tuple[str, int]]:
    """A run's `found` or `done` (a reason or action and how many) as the page lists it: the non-zero ones, by name."""
    if not isinstance(counts, dict):
        return []
    return sorted((str(k), int(v)) for k, v in counts.items() if isinstance(v, int) and v)
