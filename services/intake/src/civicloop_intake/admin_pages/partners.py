"""Partners' Open311 API keys through the gateway's admin API, over HTTP with the admin's own token: the keys of the
jurisdiction's partner clients (ids and dates, never a key), a new key (its value answered once, shown once on the
page and never kept by intake), a key revoked."""

from __future__ import annotations

from typing import Any

from civicloop_intake.admin_pages.catalogue import Refused, call_gateway, refusal_of
from civicloop_intake.console.upstream import Unavailable


async def keys(base_url: str, token: str, timeout_s: float, jurisdiction_id: str) -> list[dict[str, Any]]:
    answer = await call_gateway(base_url, "GET", f"/{jurisdiction_id}/partners.json", token, timeout_s)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")
    return list(answer.json()["keys"])


async def new_key(
    base_url: str, token: str, timeout_s: float, jurisdiction_id: str, client_id: str, name: str
) -> dict[str, Any]:
    """The new key's id and value (the value shown once)."""
    body = {"client_id": client_id, "name": name}
    answer = await call_gateway(base_url, "POST", f"/{jurisdiction_id}/partners.json", token, timeout_s, body)
    if 400 <= answer.status_code < 500:
        raise refusal_of(answer)
    if answer.status_code != 201:
        raise Unavailable(f"HTTP {answer.status_code}")
    issued: dict[str, Any] = answer.json()
    return issued


async def revoke(
    base_url: str, token: str, timeout_s: float, jurisdiction_id: str, client_id: str, key_id: str
) -> None:
    """`client_id` and `key_id` as the page checked them (letters, digits, `_.-`): safe in a path."""
    path = f"/{jurisdiction_id}/partners/{client_id}/keys/{key_id}/revoke"
    answer = await call_gateway(base_url, "POST", path, token, timeout_s)
    if 400 <= answer.status_code < 500:
        raise refusal_of(answer)
    if answer.status_code != 200:
        raise Unavailable(f"HTTP {answer.status_code}")


__all__ = ["Refused", "keys", "new_key", "revoke"]
