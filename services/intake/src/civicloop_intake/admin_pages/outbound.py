"""outbound as the admin pages reach it, over HTTP with the admin's own token (never its tables): what is queued per
body (`GET /open311/v2/admin/outbound/bodies.json`), pause or resume (`POST .../bodies/{body_id}/pause|resume`), a
body's given-up reports (`GET .../bodies/{body_id}/given-up.json`) and one requeued (`POST .../requeue`)."""

from __future__ import annotations

from typing import Any

import httpx

from civicloop_intake.console.upstream import SignedOut, Unavailable

ADMIN_API = "/open311/v2/admin/outbound"


class NoSuchBody(Exception):
    """The body is not one of the admin's jurisdiction."""


class NothingGivenUp(Exception):
    """The request has no given-up report to the body (requeued already, or never given up)."""


async def _call(
    base_url: str, method: str, path: str, token: str, timeout_s: float, body: Any = None
) -> httpx.Response:
    if not base_url:
        raise Unavailable("not configured")
    try:
        async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s) as client:
            answer = await client.request(
                method, ADMIN_API + path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as exc:
        raise Unavailable(type(exc).__name__) from None
    if answer.status_code == 401:
        raise SignedOut
    return answer


async def bodies(base_url: str, token: str, timeout_s: float) -> list[dict[str, Any]]:
    """Per body of the token's jurisdiction: queued, retrying, sent, given up, paused (and why), the oldest age."""
    answer = await _call(base_url, "GET", "/bodies.json", token, timeout_s)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return list(answer.json())


async def pause_or_resume(
    base_url: str, token: str, timeout_s: float, body_id: str, *, pause: bool, reason: str = ""
) -> None:
    """`body_id` as the page checked it (letters, digits, `_.-`): safe in a path."""
    path = f"/bodies/{body_id}/{'pause' if pause else 'resume'}"
    answer = await _call(base_url, "POST", path, token, timeout_s, {"reason": reason} if pause else None)
    if answer.status_code == 404:
        raise NoSuchBody
    if answer.status_code != 202:
        raise Unavailable(f"HTTP {answer.status_code}")


async def given_up(base_url: str, token: str, timeout_s: float, body_id: str) -> list[dict[str, Any]]:
    """The body's given-up reports, oldest first (`body_id` as the page checked it)."""
    answer = await _call(base_url, "GET", f"/bodies/{body_id}/given-up.json", token, timeout_s)
    if answer.status_code == 404:
        raise NoSuchBody
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return list(answer.json())


async def requeue(base_url: str, token: str, timeout_s: float, body_id: str, request_id: str) -> None:
    answer = await _call(
        base_url, "POST", f"/bodies/{body_id}/requeue", token, timeout_s, {"request_id": request_id}
    )
    if answer.status_code == 404:
        raise NoSuchBody
    if answer.status_code == 409:
        raise NothingGivenUp
    if answer.status_code != 202:
        raise Unavailable(f"HTTP {answer.status_code}")
