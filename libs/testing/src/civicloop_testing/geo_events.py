"""geo's verdicts on requests as tests write them: placed, not placed, likely duplicates, clusters.

Defaults are what geo usually says (the gazetteer's geocoding, a resolution-9 public cell, a 50 m / 30 day
duplicate check); a test passes only what it asserts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from civicloop_events import Actor, Event
from civicloop_events.payloads import geo as payloads
from civicloop_events.payloads.geo import AreaRef, DuplicateCandidate, LocationMethod, PublicPlace

from civicloop_testing.events import request_event

GEO = Actor(kind="system", id="geo")
CELL = "8929a1d4a3bffff"  # a resolution-9 H3 cell in downtown Los Angeles


def geo_event(payload: Any, **envelope: Any) -> Event[Any]:
    """An event geo publishes, with the envelope `request_event` takes (`request_id` None for a cluster)."""
    return request_event(payload, actor=GEO, source="geo", **envelope)


def public_place_at(
    lat: float, long: float, address: str | None = None, *, h3_cell: str = CELL
) -> PublicPlace:
    """The public, block-level place geo publishes beside the exact point (resolution 9)."""
    return PublicPlace(h3_cell=h3_cell, h3_resolution=9, lat=lat, long=long, address=address)


def location_resolved(
    lat: float,
    long: float,
    address: str | None,
    *,
    public: PublicPlace,
    areas: Sequence[AreaRef] = (),
    inside_jurisdiction: bool | None = None,
    method: LocationMethod = LocationMethod.geocoded,
    provider: str = "gazetteer",
    confidence: float = 0.9,
) -> payloads.LocationResolved:
    """A placed request; inside the jurisdiction when some area covers it, unless the test says otherwise."""
    inside = bool(areas) if inside_jurisdiction is None else inside_jurisdiction
    return payloads.LocationResolved(
        lat=lat,
        long=long,
        address=address,
        method=method,
        provider=provider,
        confidence=confidence,
        service_areas=list(areas),
        inside_jurisdiction=inside,
        public=public,
    )


def address_not_found(best_confidence: float, detail: str) -> payloads.LocationUnresolved:
    """No place good enough for the address the resident typed."""
    return payloads.LocationUnresolved(
        reason=payloads.UnresolvedReason.address_not_found, best_confidence=best_confidence, detail=detail
    )


def duplicate_candidate(
    request_id: str, *, distance_m: float, score: float, submitted_at: datetime, service_code: str = "pothole"
) -> DuplicateCandidate:
    return DuplicateCandidate(
        request_id=request_id,
        service_code=service_code,
        distance_m=distance_m,
        submitted_at=submitted_at,
        score=score,
    )


def duplicate_suspected(
    candidates: Sequence[DuplicateCandidate], *, radius_m: float = 50, window_days: int = 30
) -> payloads.DuplicateSuspected:
    return payloads.DuplicateSuspected(
        candidates=list(candidates), radius_m=radius_m, window_days=window_days
    )


def cluster_detected(
    request_ids: Sequence[str],
    *,
    centre: PublicPlace,
    radius_m: float,
    window_start: datetime,
    jurisdiction_id: str = "demo",
    cluster_id: str = "c-1",
    service_code: str = "pothole",
) -> Event[Any]:
    """A cluster of a week's requests (DBSCAN, 50 m, two or more): an event about no single request."""
    payload = payloads.ClusterDetected(
        cluster_id=cluster_id,
        service_code=service_code,
        request_ids=list(request_ids),
        centre=centre,
        radius_m=radius_m,
        window_start=window_start,
        window_end=window_start + timedelta(days=7),
        eps_m=50,
        min_points=2,
    )
    return geo_event(payload, request_id=None, jurisdiction_id=jurisdiction_id)
