"""What the console reads from other services, over HTTP with the signed-in staff member's own token (never their
tables): public-projections' agent view (queues, counts, a request with its history) and the notifier's preview of
who an action would notify. Every call is bounded; an unreachable service is `Unavailable`, shown as such."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx


class Unavailable(Exception):
    """The service is not configured, cannot be reached, or answered an error the console cannot show."""


class SignedOut(Exception):
    """The service refused the token (401): the session is over."""


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _get(
    base_url: str,
    path: str,
    token: str,
    timeout_s: float,
    params: Any = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    if not base_url:
        raise Unavailable("not configured")
    try:
        async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s) as client:
            answer = await client.get(path, params=params, headers={**_bearer(token), **(headers or {})})
    except httpx.HTTPError as exc:
        raise Unavailable(type(exc).__name__) from None
    if answer.status_code == 401:
        raise SignedOut
    return answer


async def queue(
    base_url: str, token: str, timeout_s: float, filters: Sequence[tuple[str, str]]
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of `GET /api/v1/agent/requests` with `filters`, and the next page's cursor."""
    answer = await _get(base_url, "/api/v1/agent/requests", token, timeout_s, params=list(filters))
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    body = answer.json()
    return list(body["items"]), body.get("next_cursor")


async def counts(base_url: str, token: str, timeout_s: float) -> dict[str, Any]:
    answer = await _get(base_url, "/api/v1/agent/queues", token, timeout_s)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    found: dict[str, Any] = answer.json()
    return found


async def wait_for(base_url: str, token: str, timeout_s: float, positions: Sequence[str]) -> None:
    """Until the agent view applied each log position (`<partition>:<offset>`), e.g. a bulk action's events: a
    read of one row that waits for two positions at a time (the `after` parameter and the position header)."""
    for i in range(0, len(positions), 2):
        pair = positions[i : i + 2]
        params = [("limit", "1"), ("after", pair[0])]
        headers = {"CivicLoop-Position": pair[1]} if len(pair) > 1 else None
        answer = await _get(
            base_url, "/api/v1/agent/requests", token, timeout_s, params=params, headers=headers
        )
        if answer.status_code != 200:
            raise Unavailable(f"HTTP {answer.status_code}")


async def request_detail(
    base_url: str, token: str, timeout_s: float, number: str, after: str | None
) -> dict[str, Any] | None:
    """The request with its history (None: unknown in the staff member's jurisdiction); `after` a command's log
    position, so the page shows what the command just did."""
    params = {"after": after} if after else None
    answer = await _get(base_url, f"/api/v1/agent/requests/{number}", token, timeout_s, params=params)
    if answer.status_code in (404, 422):
        return None
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    found: dict[str, Any] = answer.json()
    return found


async def preview(
    base_url: str, token: str, timeout_s: float, *, number: str, event_type: str, payload: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The notifier's `POST /api/v1/notifier/preview`: the messages an event would make (nothing is sent)."""
    if not base_url:
        raise Unavailable("not configured")
    body = {"request_id": number, "type": event_type, "payload": dict(payload)}
    try:
        async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s) as client:
            answer = await client.post("/api/v1/notifier/preview", json=body, headers=_bearer(token))
    except httpx.HTTPError as exc:
        raise Unavailable(type(exc).__name__) from None
    if answer.status_code == 401:
        raise SignedOut
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return list(answer.json()["messages"])
