"""What the handlers need from the world. Adapters implement these (`adapters/`); unit tests use the fakes."""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import AreaRef

from civicloop_geo.domain.batch_placing import Decision, DuplicateCheck, PlacedRow, Submission
from civicloop_geo.domain.clusters import Announced, ClusterFound
from civicloop_geo.domain.duplicates import NearbyRequest, NearbySearch
from civicloop_geo.domain.places import GeocodeResult


@dataclass(frozen=True)
class RequestPlace:
    request_id: str
    jurisdiction_id: str
    service_code: str
    submitted_at: datetime
    lat: float
    long: float
    area_ids: tuple[str, ...]
    h3_cell: str


class GeocoderUnavailable(Exception):
    """A remote geocoder did not answer (timeout, 5xx, refused): the consumer retries, then reports it."""


class Geocoder(abc.ABC):
    """Forward and reverse geocoding for one jurisdiction: the local gazetteer, or a remote provider."""

    name: str

    @abc.abstractmethod
    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        """Candidates for an address, an intersection ('A St & B Ave') or a landmark, best first."""

    @abc.abstractmethod
    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        """The readable address nearest to a point, or None when nothing is near enough."""


class AreaDefinitions(abc.ABC):
    """Service areas' versions, inside the transaction that applies one configuration event."""

    @abc.abstractmethod
    async def define(self, event: Event[Any]) -> int:
        """Store the ServiceAreaDefined event as the area's next version; returns the version."""


@dataclass(frozen=True)
class PointAreas:
    """What covers one point: the current version of each area (boundaries included), and whether it is inside.

    Inside: covered by a current area of kind "boundary" when the jurisdiction has one, else by any current area.
    """

    areas: tuple[AreaRef, ...]
    inside: bool

    @property
    def outside(self) -> bool:
        return not self.inside


class AreaResolver(abc.ABC):
    @abc.abstractmethod
    async def locate(self, jurisdiction_id: str, lat: float, long: float) -> PointAreas:
        """The current version of every service area covering the point, and whether it is in the jurisdiction."""

    async def locate_many(self, points: Sequence[tuple[str, float, float]]) -> list[PointAreas]:
        """`locate` for each (jurisdiction, lat, long), in order; adapters answer in one query."""
        return [await self.locate(j, lat, long) for j, lat, long in points]


@dataclass(frozen=True)
class AreaOutline:
    """A current service area drawn for the public map: its geometry simplified, as GeoJSON text."""

    area_id: str
    kind: str
    name: str
    version: int
    geometry: str


class AreaOutlines(abc.ABC):
    """The current service areas of a jurisdiction, for the public map."""

    @abc.abstractmethod
    async def current_versions(self, jurisdiction_id: str, kind: str | None) -> list[tuple[str, int]]:
        """(area id, version) of every current area, by kind then id: what the map depends on, read cheaply."""

    @abc.abstractmethod
    async def outlines(
        self, jurisdiction_id: str, kind: str | None, *, tolerance_m: float, limit: int
    ) -> list[AreaOutline]:
        """The current areas (the first `limit`, by kind then id), each simplified to within `tolerance_m`."""


class RequestPlaces(abc.ABC):
    """geo's own view of requests and their places, inside the transaction that applies one event."""

    @abc.abstractmethod
    async def record(self, place: RequestPlace) -> bool:
        """Remember a placed request; False when it was already placed (a replay)."""

    @abc.abstractmethod
    async def decide_once(
        self, request_id: str, outcome: str, cause: UUID, *, service_code: str, submitted_at: datetime
    ) -> bool:
        """Claim the request's placement decision; False when geo already decided it (under any consumer group)."""

    @abc.abstractmethod
    async def submission(self, request_id: str) -> tuple[str, datetime] | None:
        """(service code, submitted at) of a request geo has decided on, placed or not."""

    @abc.abstractmethod
    async def move(
        self, request_id: str, lat: float, long: float, area_ids: tuple[str, ...], h3_cell: str
    ) -> bool:
        """Move a placed request (an agent's correction); False when it was never placed."""

    @abc.abstractmethod
    async def set_status(self, request_id: str, status: str) -> None: ...

    @abc.abstractmethod
    async def mark_merged(self, request_id: str, original_request_id: str) -> None: ...

    @abc.abstractmethod
    async def nearby_open(self, search: NearbySearch) -> list[NearbyRequest]:
        """Open, unmerged requests of these categories within the radius and the time span, nearest first."""

    @abc.abstractmethod
    async def related_codes(self, jurisdiction_id: str, service_code: str) -> list[str]:
        """The category and, when they share a catalogue group, its related categories."""

    @abc.abstractmethod
    async def define_service(self, jurisdiction_id: str, service_code: str, group: str) -> None: ...


class EventPublisher(abc.ABC):
    @abc.abstractmethod
    async def publish(self, event: Event[Any]) -> None:
        """Durably on the log (acks=all) before returning; the same event id may be published twice."""

    async def publish_all(self, events: Sequence[Event[Any]]) -> None:
        """Every event durably on the log, in order, before returning; adapters send all, then await every ack."""
        for event in events:
            await self.publish(event)


class PlacingBatchStore(abc.ABC):
    """geo's view of requests as a batch of request events reads and writes it, inside the batch's transaction."""

    @abc.abstractmethod
    async def rows_of(self, request_ids: Collection[str]) -> dict[str, PlacedRow]:
        """The rows of these requests (those geo has placed)."""

    @abc.abstractmethod
    async def decisions_of(self, request_ids: Collection[str]) -> dict[str, Submission | None]:
        """The decisions on these requests: the submission's category and time where kept, else None."""

    @abc.abstractmethod
    async def decide(self, decisions: Sequence[Decision]) -> set[str]:
        """Claim each request's decision; the requests claimed now (not already decided, by any consumer group)."""

    @abc.abstractmethod
    async def service_groups(self, jurisdiction_ids: Collection[str]) -> dict[tuple[str, str], str]:
        """(jurisdiction, category) -> catalogue group, for these jurisdictions."""

    @abc.abstractmethod
    async def nearby_open_many(
        self, checks: Sequence[DuplicateCheck], *, batch_requests: Collection[str]
    ) -> list[list[NearbyRequest]]:
        """For each check, what `RequestPlaces.nearby_open` finds as its event saw geo's rows: rows of
        `batch_requests` as the check carries them, every other row as stored."""

    @abc.abstractmethod
    async def save(self, rows: Sequence[PlacedRow]) -> None:
        """Write these rows as they are (inserted or replaced)."""


class ClusterStore(abc.ABC):
    @abc.abstractmethod
    async def jurisdictions_with_recent_requests(self, since: datetime) -> list[str]: ...

    @abc.abstractmethod
    async def announced_since(self, jurisdiction_id: str, since: datetime) -> list[Announced]: ...

    @abc.abstractmethod
    async def find_clusters(
        self, jurisdiction_id: str, *, since: datetime, until: datetime, eps_m: float, min_points: int
    ) -> list[ClusterFound]: ...

    @abc.abstractmethod
    async def remember(
        self, cluster_id: str, jurisdiction_id: str, found: ClusterFound, detected_at: datetime
    ) -> None: ...
