"""The report form's map: the service areas from geo's public map (`/api/v1/public/areas`), served on intake's own
site (`GET /report/areas`), and the basemap's tile source in the page's Content-Security-Policy.

The browser asks intake, never geo: the page's policy allows its own site only (and the tile server, when one is
set). Intake keeps geo's answer and its ETag: it asks geo again at most every `FRESH_S` seconds, with
If-None-Match (geo answers 304 after one small query), and when geo does not answer, the copy it has still serves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

AREAS_PATH = "/api/v1/public/areas"
FRESH_S = 60.0
MAX_BYTES = 5_000_000  # geo bounds its map (750 kB by default); anything past this is not a map to pass on


class AreasUnavailable(Exception):
    """Geo could not be asked, or did not answer, and intake has no copy: the map shows no areas."""


@dataclass(frozen=True, slots=True)
class AreaMapCopy:
    body: bytes
    etag: str
    cache_control: str
    fetched_at: float


class AreaMapCopies:
    """The copies of geo's map intake holds, one per (geo, jurisdiction)."""

    def __init__(self) -> None:
        self._copies: dict[tuple[str, str], AreaMapCopy] = {}

    async def current(self, geo_url: str, jurisdiction_id: str, *, timeout_s: float) -> AreaMapCopy:
        key = (geo_url, jurisdiction_id)
        held = self._copies.get(key)
        now = time.monotonic()
        if held is not None and now - held.fetched_at < FRESH_S:
            return held
        headers = {"If-None-Match": held.etag} if held is not None and held.etag else {}
        try:
            async with (
                httpx.AsyncClient(base_url=geo_url, timeout=timeout_s) as client,
                client.stream(
                    "GET", AREAS_PATH, params={"jurisdiction_id": jurisdiction_id}, headers=headers
                ) as answer,
            ):
                body = await _read_at_most(answer, MAX_BYTES) if answer.status_code == 200 else b""
        except httpx.HTTPError as e:
            if held is not None:
                return held
            raise AreasUnavailable(type(e).__name__) from None
        if answer.status_code == 304 and held is not None:
            fresh = AreaMapCopy(held.body, held.etag, held.cache_control, now)
        elif answer.status_code == 200 and body is not None:
            fresh = AreaMapCopy(
                body,
                answer.headers.get("etag", ""),
                answer.headers.get("cache-control", "public, max-age=300"),
                now,
            )
        elif held is not None:
            return held
        else:
            raise AreasUnavailable(f"geo answered {answer.status_code}")
        self._copies[key] = fresh
        return fresh


async def _read_at_most(answer: httpx.Response, limit: int) -> bytes | None:
    """The body, read no further than `limit` bytes; None when it is longer."""
    chunks, size = [], 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def tile_origin(tile_url: str) -> str:
    """The origin the page's policy must allow for the tiles: `https://{s}.tile.example/...` -> `https://*.tile.example`."""
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "tiles-subdomain"))
    host = (parts.netloc or "").replace("tiles-subdomain", "*")
    return f"{parts.scheme}://{host}"


def with_tiles(policy: str, tile_url: str) -> str:
    """The Content-Security-Policy `policy` with the tile server added to `img-src`."""
    origin = tile_origin(tile_url)
    if not origin:
        return policy
    return "; ".join(
        f"{part} {origin}" if part.strip().startswith("img-src ") else part for part in policy.split("; ")
    )
