"""Deciding where a request is, from what the reporter gave and what the geocoder found. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from civicloop_events.payloads import Location, LocationMethod, UnresolvedReason

from civicloop_geo.domain.places import GeocodeResult

REPORTER = "reporter"


@dataclass(frozen=True)
class Placed:
    lat: float
    long: float
    address: str | None
    method: LocationMethod
    provider: str
    confidence: float


@dataclass(frozen=True)
class NotPlaced:
    reason: UnresolvedReason
    best_confidence: float | None = None
    detail: str = ""


def from_reporter(location: Location, reverse: GeocodeResult | None) -> Placed:
    """A reporter's point is taken as given (GPS, a map pin); the address is theirs, or the nearest known one."""
    if location.lat is None or location.long is None:
        raise ValueError("a reporter's location without a point cannot be taken as given")
    address = location.address_string or (reverse.address if reverse else None)
    return given_point(
        location.lat, location.long, address, method=LocationMethod.submitted, provider=REPORTER
    )


def given_point(
    lat: float, long: float, address: str | None, *, method: LocationMethod, provider: str
) -> Placed:
    """A point a person gave (a reporter's GPS or map pin, an agent's correction) stands as given: full confidence."""
    return Placed(lat=lat, long=long, address=address, method=method, provider=provider, confidence=1.0)


def from_geocoder(query: str, results: list[GeocodeResult], *, min_confidence: float) -> Placed | NotPlaced:
    """The best candidate when it is confident enough; otherwise agents place the request by hand."""
    if not results:
        return NotPlaced(UnresolvedReason.address_not_found, detail=f"no match for {query[:200]!r}")
    best = max(results, key=lambda r: r.confidence)
    if best.confidence < min_confidence:
        return NotPlaced(
            UnresolvedReason.low_confidence,
            best_confidence=best.confidence,
            detail=f"best match {best.address[:200]!r} ({best.kind.value})",
        )
    return Placed(
        lat=best.lat,
        long=best.long,
        address=best.address,
        method=LocationMethod.geocoded,
        provider=best.provider,
        confidence=best.confidence,
    )


def geocoding_query(location: Location) -> str | None:
    """What to geocode when there is no point: the address string (an address_id alone is opaque to us)."""
    return location.address_string
