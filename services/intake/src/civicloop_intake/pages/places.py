"""The report form's address search: geo's public geocode (`/api/v1/public/geocode`), asked by intake for the page.

The browser asks intake (`GET /report/places?q=`), never geo itself: the page's Content-Security-Policy allows its own
site only. Geo's per-client limit counts each resident apart when intake is one of geo's trusted proxies
(`CIVICLOOP_RATE_LIMIT_TRUSTED_PROXIES` on geo): intake names the resident's address in `X-Forwarded-For`.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

GEOCODE_PATH = "/api/v1/public/geocode"


class PlacesUnavailable(Exception):
    """Geo could not be asked, or did not answer: the resident types the address, as without the search."""


@dataclass(frozen=True, slots=True)
class FoundPlace:
    address: str
    lat: float
    long: float


async def find_places(
    geo_url: str, jurisdiction_id: str, query: str, *, client_address: str | None, timeout_s: float
) -> list[FoundPlace]:
    headers = {"X-Forwarded-For": client_address} if client_address else {}
    try:
        async with httpx.AsyncClient(base_url=geo_url, timeout=timeout_s) as client:
            answer = await client.get(
                GEOCODE_PATH, params={"jurisdiction_id": jurisdiction_id, "q": query}, headers=headers
            )
    except httpx.HTTPError as e:
        raise PlacesUnavailable(type(e).__name__) from None
    if answer.status_code == 422:  # a query geo does not take: nothing found for it
        return []
    if answer.status_code != 200:
        raise PlacesUnavailable(f"geo answered {answer.status_code}")
    return [
        FoundPlace(str(r["address"]), float(r["lat"]), float(r["long"]))
        for r in answer.json().get("results", [])
    ]
