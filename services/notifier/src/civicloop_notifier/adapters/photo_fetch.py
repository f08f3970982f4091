"""Fetching a closing's photo from CivicLoop's own media location (`httpx`), read no further than the cap."""

from __future__ import annotations

import httpx

from civicloop_notifier.service_layer.email_extras import Photo


class HttpPhotoFetcher:
    def __init__(self, *, timeout_s: float = 10.0) -> None:
        # Redirects are not followed: a URL under our prefix must not lead the notifier anywhere else.
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def fetch(self, url: str, *, max_bytes: int) -> Photo | None:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    return None
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    return None
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > max_bytes:
                        return None
                return Photo(response.headers.get("Content-Type", ""), bytes(content))
        except httpx.HTTPError:
            return None  # not reachable now: the resident gets the link instead

    async def aclose(self) -> None:
        await self._client.aclose()
