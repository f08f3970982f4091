"""Remote geocoders over HTTP: Nominatim (OpenStreetMap), Pelias (self-hosted or geocode.earth), US Census.

Each maps its provider's answer to GeocodeResult with the provider's own score as confidence. A timeout, a refused
connection, a 5xx or a 429 raises GeocoderUnavailable (the caller retries later); a 4xx other than 429 is our
request's fault and raises httpx.HTTPStatusError. Remote providers have no notion of our jurisdictions, so
`jurisdiction_id` is not sent.
"""

from __future__ import annotations

from typing import Any

import httpx

from civicloop_geo.domain.addresses import AddressQuery, Query, parse_query
from civicloop_geo.domain.places import GeocodeResult, MatchKind
from civicloop_geo.service_layer.ports import Geocoder, GeocoderUnavailable

NOMINATIM_URL = "https://nominatim.openstreetmap.org"
PELIAS_URL = "https://api.geocode.earth"
CENSUS_URL = "https://geocoding.geo.census.gov"


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


class _HttpGeocoder(Geocoder):
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        user_agent: str = "",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": user_agent} if user_agent else {}
        self._client = client or httpx.AsyncClient(timeout=timeout_s, headers=headers)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = await self._client.get(self.base_url + path, params=params)
        except httpx.TransportError as exc:  # timeouts, refused connections, broken responses
            raise GeocoderUnavailable(f"{self.name}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise GeocoderUnavailable(f"{self.name}: HTTP {response.status_code}")
        response.raise_for_status()
        try:
            return response.json()
        except ValueError as exc:
            raise GeocoderUnavailable(f"{self.name}: the answer is not JSON") from exc


def nominatim_confidence(place_rank: int, importance: float) -> float:
    """place_rank says how precise the place is (30 = a house or building, 26-27 a street, 16-25 a suburb or
    town); importance (0..1, how prominent the place is) only breaks ties."""
    if place_rank >= 30:
        base = 0.9
    elif place_rank >= 28:
        base = 0.8
    elif place_rank >= 26:
        base = 0.6
    elif place_rank >= 16:
        base = 0.4
    else:
        base = 0.2
    return _clamp(base + 0.1 * _clamp(importance))


class NominatimGeocoder(_HttpGeocoder):
    """`/search?format=jsonv2` and `/reverse?format=jsonv2`; the usage policy requires an identifying User-Agent."""

    name = "nominatim"

    def __init__(self, base_url: str = NOMINATIM_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)

    def _result(self, place: dict[str, Any]) -> GeocodeResult:
        conf = nominatim_confidence(int(place.get("place_rank") or 0), float(place.get("importance") or 0.0))
        return GeocodeResult(
            float(place["lat"]),
            float(place["lon"]),
            str(place.get("display_name") or ""),
            conf,
            self.name,
            MatchKind.remote,
        )

    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        places = await self._get("/search", {"format": "jsonv2", "q": query, "limit": limit})
        results = [self._result(p) for p in places or [] if "lat" in p and "lon" in p]
        return sorted(results, key=lambda r: -r.confidence)[:limit]

    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        place = await self._get("/reverse", {"format": "jsonv2", "lat": lat, "lon": long})
        if not isinstance(place, dict) or "error" in place or "lat" not in place:
            return None  # {"error": "Unable to geocode"}: nothing there
        return self._result(place)


class PeliasGeocoder(_HttpGeocoder):
    """`/v1/search?text=` and `/v1/reverse?point.lat=&point.lon=`: GeoJSON features whose properties carry `label`
    and `confidence` (0..1). Hosted Pelias (geocode.earth) takes the key as the `api_key` parameter."""

    name = "pelias"

    def __init__(self, base_url: str = PELIAS_URL, *, api_key: str = "", **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.api_key = api_key

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "api_key": self.api_key} if self.api_key else params

    def _results(self, collection: Any) -> list[GeocodeResult]:
        out: list[GeocodeResult] = []
        for feature in (collection or {}).get("features") or []:
            props = feature.get("properties") or {}
            coordinates = (feature.get("geometry") or {}).get("coordinates") or []
            if len(coordinates) < 2:
                continue
            long, lat = float(coordinates[0]), float(coordinates[1])
            out.append(
                GeocodeResult(
                    lat,
                    long,
                    str(props.get("label") or props.get("name") or ""),
                    _clamp(float(props.get("confidence") or 0.0)),
                    self.name,
                    MatchKind.remote,
                )
            )
        return out

    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        collection = await self._get("/v1/search", self._params({"text": query, "size": limit}))
        return sorted(self._results(collection), key=lambda r: -r.confidence)[:limit]

    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        collection = await self._get(
            "/v1/reverse", self._params({"point.lat": lat, "point.lon": long, "size": 1})
        )
        results = self._results(collection)
        return results[0] if results else None


class CensusGeocoder(_HttpGeocoder):
    """The US Census Bureau's geocoder (TIGER address ranges, US only, no key).

    Its JSON names no match type, so a match whose parsed address equals the query's counts as exact (1.0) and any
    other as non-exact (0.8), the two grades of its batch output. `reverse` returns None: the Census coordinates
    service answers with census geographies (tract, block), never an address.
    """

    name = "census"

    def __init__(
        self, base_url: str = CENSUS_URL, *, benchmark: str = "Public_AR_Current", **kwargs: Any
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.benchmark = benchmark

    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        answer = await self._get(
            "/geocoder/locations/onelineaddress",
            {"address": query, "benchmark": self.benchmark, "format": "json"},
        )
        matches = ((answer or {}).get("result") or {}).get("addressMatches") or []
        asked = parse_query(query)
        results: list[GeocodeResult] = []
        for match in matches:
            coordinates = match.get("coordinates") or {}
            if "x" not in coordinates or "y" not in coordinates:
                continue
            matched = str(match.get("matchedAddress") or "")
            found = parse_query(matched)
            exact = asked is not None and found is not None and _same_address(asked, found)
            results.append(
                GeocodeResult(
                    float(coordinates["y"]),
                    float(coordinates["x"]),
                    matched,
                    1.0 if exact else 0.8,
                    self.name,
                    MatchKind.remote,
                )
            )
        return sorted(results, key=lambda r: -r.confidence)[:limit]

    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        return None


def _same_address(asked: Query, found: Query) -> bool:
    if not (isinstance(asked, AddressQuery) and isinstance(found, AddressQuery)):
        return False
    return asked.key() == found.key() and (not asked.postcode or asked.postcode == found.postcode)
