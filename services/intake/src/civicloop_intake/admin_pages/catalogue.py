"""The Open311 gateway's catalogue admin API as the admin pages reach it, over HTTP with the admin's own token (never
its tables): the jurisdiction's services, withdrawn ones included (`GET .../services.json`), a new service
(`POST .../services.json`), a service's definition replaced (`PUT .../services/{code}.json`: its questions
edited), a service withdrawn (`DELETE .../services/{code}.json`)."""

from __future__ import annotations

from typing import Any

import httpx

from civicloop_intake.console.upstream import SignedOut, Unavailable

ADMIN_API = "/open311/v2/admin/jurisdictions"


class Refused(Exception):
    """The gateway refused the change (its Open311 error's description)."""


async def call_gateway(
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


def refusal_of(answer: httpx.Response) -> Refused:
    try:
        errors = answer.json()
        return Refused(str(errors[0]["description"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return Refused(f"HTTP {answer.status_code}")


async def services(base_url: str, token: str, timeout_s: float, jurisdiction_id: str) -> list[dict[str, Any]]:
    answer = await call_gateway(base_url, "GET", f"/{jurisdiction_id}/services.json", token, timeout_s)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return sorted(answer.json()["services"], key=lambda s: (not s.get("active", True), s["service_code"]))


async def define(
    base_url: str, token: str, timeout_s: float, jurisdiction_id: str, service: dict[str, Any]
) -> None:
    answer = await call_gateway(
        base_url, "POST", f"/{jurisdiction_id}/services.json", token, timeout_s, service
    )
    if 400 <= answer.status_code < 500:
        raise refusal_of(answer)
    if answer.status_code != 201:
        raise Unavailable(f"HTTP {answer.status_code}")


async def withdraw(base_url: str, token: str, timeout_s: float, jurisdiction_id: str, code: str) -> None:
    """`code` as the page checked it (letters, digits, `_-.`): safe in a path."""
    answer = await call_gateway(
        base_url, "DELETE", f"/{jurisdiction_id}/services/{code}.json", token, timeout_s
    )
    if 400 <= answer.status_code < 500:
        raise refusal_of(answer)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")


async def replace(
    base_url: str, token: str, timeout_s: float, jurisdiction_id: str, code: str, fields: dict[str, Any]
) -> None:
    """The service's whole definition but its code (`code` as the page checked it: safe in a path)."""
    answer = await call_gateway(
        base_url, "PUT", f"/{jurisdiction_id}/services/{code}.json", token, timeout_s, fields
    )
    if 400 <= answer.status_code < 500:
        raise refusal_of(answer)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
