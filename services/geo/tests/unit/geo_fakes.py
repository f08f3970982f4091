"""In-memory twins of geo's ports, for the handler tests (the real ones are tested against PostGIS and Kafka)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import AreaRef
from civicloop_geo.domain.batch_placing import Decision, DuplicateCheck, PlacedRow, Submission
from civicloop_geo.domain.duplicates import NearbyRequest, NearbySearch
from civicloop_geo.domain.places import GeocodeResult, distance_m
from civicloop_geo.service_layer.ports import (
    AreaResolver,
    EventPublisher,
    Geocoder,
    GeocoderUnavailable,
    PlacingBatchStore,
    PointAreas,
    RequestPlace,
    RequestPlaces,
)


class FakeGeocoder(Geocoder):
    name = "fake"

    def __init__(
        self,
        answers: dict[str, list[GeocodeResult]] | None = None,
        nearest: GeocodeResult | None = None,
        down: bool = False,
    ) -> None:
        self.answers = answers or {}
        self.nearest = nearest
        self.down = down
        self.reverse_calls = 0

    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        if self.down:
            raise GeocoderUnavailable("provider timed out")
        return self.answers.get(query, [])[:limit]

    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        self.reverse_calls += 1
        if self.down:
            raise GeocoderUnavailable("provider timed out")
        return self.nearest


class FakeAreas(AreaResolver):
    """Areas as boxes: (area ref, (min_lat, min_long, max_lat, max_long))."""

    def __init__(self, boxes: list[tuple[AreaRef, tuple[float, float, float, float]]]) -> None:
        self.boxes = boxes

    async def locate(self, jurisdiction_id: str, lat: float, long: float) -> PointAreas:
        refs = tuple(ref for ref, (a, b, c, d) in self.boxes if a <= lat <= c and b <= long <= d)
        has_boundary = any(ref.kind == "boundary" for ref, _ in self.boxes)
        inside = any(r.kind == "boundary" for r in refs) if has_boundary else bool(refs)
        return PointAreas(refs, inside)


class FakePlaces(RequestPlaces):
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.groups: dict[tuple[str, str], str] = {}
        self.decided: dict[str, tuple[str, datetime]] = {}

    async def record(self, place: RequestPlace) -> bool:
        if place.request_id in self.rows:
            return False
        self.rows[place.request_id] = {"place": place, "status": "open", "merged_into": None}
        return True

    async def decide_once(
        self, request_id: str, outcome: str, cause: UUID, *, service_code: str, submitted_at: datetime
    ) -> bool:
        if request_id in self.decided:
            return False
        self.decided[request_id] = (service_code, submitted_at)
        return True

    async def submission(self, request_id: str) -> tuple[str, datetime] | None:
        return self.decided.get(request_id)

    async def move(
        self, request_id: str, lat: float, long: float, area_ids: tuple[str, ...], h3_cell: str
    ) -> bool:
        if request_id not in self.rows:
            return False
        old: RequestPlace = self.rows[request_id]["place"]
        self.rows[request_id]["place"] = RequestPlace(
            old.request_id,
            old.jurisdiction_id,
            old.service_code,
            old.submitted_at,
            lat,
            long,
            area_ids,
            h3_cell,
        )
        return True

    async def set_status(self, request_id: str, status: str) -> None:
        if request_id in self.rows:
            self.rows[request_id]["status"] = status

    async def mark_merged(self, request_id: str, original_request_id: str) -> None:
        if request_id in self.rows:
            self.rows[request_id]["merged_into"] = original_request_id

    async def nearby_open(self, search: NearbySearch) -> list[NearbyRequest]:
        found = []
        for row in self.rows.values():
            p: RequestPlace = row["place"]
            d = distance_m(search.lat, search.long, p.lat, p.long)
            if (
                p.jurisdiction_id == search.jurisdiction_id
                and p.service_code in search.service_codes
                and d <= search.radius_m
                and search.since <= p.submitted_at <= search.until
                and row["status"] != "closed"
                and not row["merged_into"]
            ):
                found.append(NearbyRequest(p.request_id, p.service_code, d, p.submitted_at))
        return sorted(found, key=lambda n: (n.distance_m, n.request_id))[: search.limit]

    async def related_codes(self, jurisdiction_id: str, service_code: str) -> list[str]:
        group = self.groups.get((jurisdiction_id, service_code), "")
        related = {c for (j, c), g in self.groups.items() if j == jurisdiction_id and group and g == group}
        return sorted(related | {service_code})

    async def define_service(self, jurisdiction_id: str, service_code: str, group: str) -> None:
        self.groups[(jurisdiction_id, service_code)] = group


class FakePlacingBatch(PlacingBatchStore):
    """The batch store over a `FakePlaces`' state, so one-by-one and batched runs can be compared."""

    def __init__(self, places: FakePlaces) -> None:
        self.places = places

    async def rows_of(self, request_ids: Collection[str]) -> dict[str, PlacedRow]:
        return {rid: _row(self.places.rows[rid]) for rid in request_ids if rid in self.places.rows}

    async def decisions_of(self, request_ids: Collection[str]) -> dict[str, Submission | None]:
        return {
            rid: Submission(*self.places.decided[rid]) for rid in request_ids if rid in self.places.decided
        }

    async def decide(self, decisions: Sequence[Decision]) -> set[str]:
        claimed = set()
        for d in decisions:
            if await self.places.decide_once(
                d.request_id,
                d.outcome,
                d.cause_event_id,
                service_code=d.service_code,
                submitted_at=d.submitted_at,
            ):
                claimed.add(d.request_id)
        return claimed

    async def service_groups(self, jurisdiction_ids: Collection[str]) -> dict[tuple[str, str], str]:
        return {(j, c): g for (j, c), g in self.places.groups.items() if j in jurisdiction_ids}

    async def nearby_open_many(
        self, checks: Sequence[DuplicateCheck], *, batch_requests: Collection[str]
    ) -> list[list[NearbyRequest]]:
        found = []
        for check in checks:
            s = check.search
            stored = [_row(r) for rid, r in self.places.rows.items() if rid not in batch_requests]
            near = [
                NearbyRequest(
                    r.request_id, r.service_code, distance_m(s.lat, s.long, r.lat, r.long), r.submitted_at
                )
                for r in [*stored, *check.batch_rows]
                if r.jurisdiction_id == s.jurisdiction_id
                and r.service_code in s.service_codes
                and s.since <= r.submitted_at <= s.until
                and r.open
            ]
            near = [n for n in near if n.distance_m <= s.radius_m]
            found.append(sorted(near, key=lambda n: (n.distance_m, n.request_id))[: s.limit])
        return found

    async def save(self, rows: Sequence[PlacedRow]) -> None:
        for r in rows:
            place = RequestPlace(
                r.request_id,
                r.jurisdiction_id,
                r.service_code,
                r.submitted_at,
                r.lat,
                r.long,
                r.area_ids,
                r.h3_cell,
            )
            self.places.rows[r.request_id] = {
                "place": place,
                "status": r.status,
                "merged_into": r.merged_into,
            }


def _row(stored: dict[str, Any]) -> PlacedRow:
    p: RequestPlace = stored["place"]
    return PlacedRow(
        p.request_id,
        p.jurisdiction_id,
        p.service_code,
        p.submitted_at,
        p.lat,
        p.long,
        p.area_ids,
        p.h3_cell,
        stored["status"],
        stored["merged_into"],
    )


class FakePublisher(EventPublisher):
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.events.append(event)

    def of_type(self, payload_type: type) -> list[Event[Any]]:
        return [e for e in self.events if isinstance(e.payload, payload_type)]
