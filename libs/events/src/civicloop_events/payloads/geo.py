"""Geography of a request (services/geo): where it is, whether it duplicates another, hot spots of a category.

All on the request-events topic: keyed by the request number, or by the jurisdiction for a cluster.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from civicloop_events.payloads.base import EventPayload, FrozenModel, registered
from civicloop_events.topic_roles import TopicRole


class AreaRef(FrozenModel):
    """A service area as it was when a request was placed in it: the version pins the boundary used."""

    area_id: str = Field(min_length=1, max_length=120)
    kind: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)


class LocationMethod(str, enum.Enum):
    """How the point was obtained."""

    submitted = "submitted"  # the reporter gave lat/long (GPS, a map pin)
    geocoded = "geocoded"  # looked up from the address
    corrected = "corrected"  # an agent placed it by hand (`LocationCorrected`)


class PublicPlace(FrozenModel):
    """What public outputs may show of a place: an H3 cell (its centre) and a block-level address, never the point."""

    h3_cell: str = Field(min_length=1, max_length=20)
    h3_resolution: int = Field(ge=0, le=15)
    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(
        default=None, max_length=500, description="block level, e.g. '2100 block of W BELLEVUE AVE'"
    )


@registered
class LocationResolved(EventPayload):
    """geo placed a request: its point, a readable address, the service areas that own it, and its public form.

    A point outside every service area of the jurisdiction is flagged (`inside_jurisdiction` false), not dropped.
    """

    event_type: ClassVar[str] = "request.location.resolved"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("geo.location.resolved",)

    lat: float = Field(ge=-90, le=90)
    long: float = Field(ge=-180, le=180)
    address: str | None = Field(
        default=None, max_length=500, description="as given, or from reverse geocoding"
    )
    method: LocationMethod
    provider: str = Field(
        min_length=1, max_length=64, description="'reporter', 'gazetteer', 'nominatim', ..."
    )
    confidence: float = Field(ge=0, le=1)
    service_areas: list[AreaRef] = Field(default_factory=list)
    inside_jurisdiction: bool
    public: PublicPlace


class UnresolvedReason(str, enum.Enum):
    address_not_found = "address_not_found"
    low_confidence = "low_confidence"
    geocoder_unavailable = "geocoder_unavailable"


@registered
class LocationUnresolved(EventPayload):
    """geo could not place a request (an address it cannot find): agents place it by hand."""

    event_type: ClassVar[str] = "request.location.unresolved"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("geo.location.unresolved",)

    reason: UnresolvedReason
    best_confidence: float | None = Field(default=None, ge=0, le=1)
    detail: str = Field(default="", max_length=500)


class DuplicateCandidate(FrozenModel):
    request_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    distance_m: float = Field(ge=0)
    submitted_at: AwareDatetime
    score: float = Field(ge=0, le=1, description="higher is likelier the same problem")


@registered
class DuplicateSuspected(EventPayload):
    """Open requests of the same or a related category near this one, best first. Only an agent merges."""

    event_type: ClassVar[str] = "request.duplicate_suspected"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("geo.duplicate.suspected",)

    candidates: list[DuplicateCandidate] = Field(min_length=1, max_length=50)
    radius_m: float = Field(gt=0)
    window_days: int = Field(ge=1)


@registered
class ClusterDetected(EventPayload):
    """A category spikes in one place: `min_points` or more open requests within `eps_m` of each other in the window.

    Not about one request: the envelope's `request_id` is empty and the key is the jurisdiction. The centre is the
    cluster's public H3 cell, so the event is safe to show on a public heat-map.
    """

    event_type: ClassVar[str] = "cluster.detected"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events
    aliases: ClassVar[tuple[str, ...]] = ("geo.cluster.detected",)

    cluster_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    request_ids: list[str] = Field(min_length=2)
    centre: PublicPlace
    radius_m: float = Field(ge=0, description="from the centre to the farthest member")
    area_ids: list[str] = Field(default_factory=list)
    window_start: AwareDatetime
    window_end: AwareDatetime
    eps_m: float = Field(gt=0)
    min_points: int = Field(ge=2)
