"""Ranking duplicate candidates: nearer, same category and more recent is likelier the same problem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from civicloop_events.payloads import DuplicateCandidate

# Distance matters most (two reports 20 m apart are very likely one pothole); an exact category match beats a
# related one; recency breaks ties between equally near reports.
DISTANCE_WEIGHT = 0.6
CATEGORY_WEIGHT = 0.25
RECENCY_WEIGHT = 0.15
RELATED_CATEGORY_CREDIT = 0.5


@dataclass(frozen=True)
class NearbyRequest:
    """An open request found near a new one (what the spatial query returns)."""

    request_id: str
    service_code: str
    distance_m: float
    submitted_at: datetime


@dataclass(frozen=True)
class NearbySearch:
    """Where to look for open, unmerged requests: near a point, in these categories, within a span of time."""

    jurisdiction_id: str
    lat: float
    long: float
    service_codes: tuple[str, ...]
    radius_m: float
    since: datetime
    until: datetime
    limit: int


@dataclass(frozen=True)
class DuplicatePolicy:
    radius_m: float = 500.0
    window_days: int = 30
    max_candidates: int = 5

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


def score(
    nearby: NearbyRequest, *, service_code: str, submitted_at: datetime, policy: DuplicatePolicy
) -> float:
    closeness = max(0.0, 1.0 - nearby.distance_m / policy.radius_m)
    category = 1.0 if nearby.service_code == service_code else RELATED_CATEGORY_CREDIT
    age = abs((submitted_at - nearby.submitted_at).total_seconds())
    recency = max(0.0, 1.0 - age / policy.window.total_seconds())
    return round(DISTANCE_WEIGHT * closeness + CATEGORY_WEIGHT * category + RECENCY_WEIGHT * recency, 4)


def rank_candidates(
    nearby: list[NearbyRequest],
    *,
    request_id: str,
    service_code: str,
    submitted_at: datetime,
    policy: DuplicatePolicy,
) -> list[DuplicateCandidate]:
    """The best `max_candidates` within the radius and window, best first; never the request itself."""
    kept = [
        n
        for n in nearby
        if n.request_id != request_id
        and n.distance_m <= policy.radius_m
        and abs(submitted_at - n.submitted_at) <= policy.window
    ]
    scored = [
        (score(n, service_code=service_code, submitted_at=submitted_at, policy=policy), n) for n in kept
    ]
    ranked = sorted(scored, key=lambda sn: (-sn[0], sn[1].distance_m, sn[1].request_id))
    return [
        DuplicateCandidate(
            request_id=n.request_id,
            service_code=n.service_code,
            distance_m=round(n.distance_m, 1),
            submitted_at=n.submitted_at,
            score=s,
        )
        for s, n in ranked[: policy.max_candidates]
    ]
