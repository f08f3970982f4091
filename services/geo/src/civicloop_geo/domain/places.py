"""What geo knows about a place, independent of where it came from (gazetteer, remote provider, the reporter)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class MatchKind(str, enum.Enum):
    address_point = "address_point"  # an address in the gazetteer, exactly or nearly
    interpolated = "interpolated"  # a house number placed along its street between known neighbours
    street = "street"  # the street, not the house
    intersection = "intersection"  # "A St & B Ave"
    landmark = "landmark"  # "near Lincoln Elementary"
    remote = "remote"  # a remote provider's answer, of its own precision


@dataclass(frozen=True)
class GeocodeResult:
    """One candidate place for an address (or, reversed, an address for a point). Confidence is 0..1."""

    lat: float
    long: float
    address: str
    confidence: float
    provider: str
    kind: MatchKind

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 1:
            raise ValueError(f"confidence {self.confidence} is not in 0..1")
        if not (-90 <= self.lat <= 90 and -180 <= self.long <= 180):
            raise ValueError(f"({self.lat}, {self.long}) is not a WGS84 point")


def distance_m(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance (haversine on the mean Earth radius), metres: within 0.5 % of PostGIS's spheroid."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))
