"""Which DBSCAN clusters are news: a hot spot is announced once, not on every sweep while it lasts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from civicloop_events import derived_event_id

from civicloop_geo.domain.places import distance_m


@dataclass(frozen=True)
class ClusterFound:
    service_code: str
    request_ids: tuple[str, ...]
    centre_lat: float
    centre_long: float
    radius_m: float
    area_ids: tuple[str, ...]


@dataclass(frozen=True)
class Announced:
    service_code: str
    centre_lat: float
    centre_long: float
    request_ids: frozenset[str]
    detected_at: datetime


def is_news(found: ClusterFound, announced: list[Announced], *, eps_m: float) -> bool:
    """New unless a cluster of the same category was announced in the window near it or sharing half its members."""
    for old in announced:
        if old.service_code != found.service_code:
            continue
        if distance_m(found.centre_lat, found.centre_long, old.centre_lat, old.centre_long) <= eps_m:
            return False
        shared = len(old.request_ids & set(found.request_ids))
        if shared * 2 >= len(found.request_ids):
            return False
    return True


def cluster_id(jurisdiction_id: str, found: ClusterFound) -> uuid.UUID:
    """Stable for the same members, so a sweep retried after a crash announces the same event."""
    return derived_event_id("cluster", jurisdiction_id, found.service_code, *sorted(found.request_ids))
