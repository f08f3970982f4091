"""geo's reactions to a submitted request, with in-memory ports: placing, flagging, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import (
    Actor,
    ActorKind,
    Event,
    Location,
    ServiceRequestSubmitted,
    StatusChanged,
    derived_event_id,
)
from civicloop_events.payloads import (
    AreaRef,
    DuplicateSuspected,
    LocationCorrected,
    LocationMethod,
    LocationResolved,
    LocationUnresolved,
    MergedAsDuplicate,
    RequestStatus,
    UnresolvedReason,
)
from civicloop_geo.domain.duplicates import DuplicatePolicy
from civicloop_geo.domain.places import GeocodeResult, MatchKind
from civicloop_geo.service_layer.handlers import (
    PlacingDeps,
    PlacingPolicy,
    when_request_event_place_and_check,
)
from geo_fakes import FakeAreas, FakeGeocoder, FakePlaces, FakePublisher

J = "springfield"
WARD_1 = AreaRef(area_id="ward-1", kind="ward", name="Ward 1", version=2)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def submitted(
    number: str,
    *,
    lat: float | None = 39.78,
    long: float | None = -89.65,
    address: str | None = None,
    code: str = "pothole",
    at: datetime = T0,
) -> Event[ServiceRequestSubmitted]:
    return Event.create(
        ServiceRequestSubmitted(
            service_code=code, location=Location(lat=lat, long=long, address_string=address)
        ),
        request_id=number,
        jurisdiction_id=J,
        actor=Actor(kind=ActorKind.resident),
        source="web",
        occurred_at=at,
    )


def deps(
    geocoder: FakeGeocoder | None = None,
    places: FakePlaces | None = None,
    policy: PlacingPolicy | None = None,
) -> tuple[PlacingDeps, FakePublisher]:
    publisher = FakePublisher()
    return PlacingDeps(
        geocoder=geocoder or FakeGeocoder(),
        areas=FakeAreas([(WARD_1, (39.7, -89.7, 39.9, -89.6))]),
        places=places or FakePlaces(),
        publisher=publisher,
        policy=policy or PlacingPolicy(),
    ), publisher


async def test_a_reporters_point_is_kept_and_placed_in_its_ward_with_a_public_cell() -> None:
    nearest = GeocodeResult(39.7801, -89.6502, "100 S 5TH ST", 0.9, "gazetteer", MatchKind.address_point)
    d, out = deps(FakeGeocoder(nearest=nearest))
    await when_request_event_place_and_check(d, submitted("AAAA-0001"))
    [event] = out.of_type(LocationResolved)
    r: LocationResolved = event.payload
    assert (r.lat, r.long, r.method, r.provider, r.confidence) == (
        39.78,
        -89.65,
        LocationMethod.submitted,
        "reporter",
        1.0,
    )
    assert r.address == "100 S 5TH ST", "no address given: the nearest known address reads it"
    assert r.service_areas == [WARD_1] and r.inside_jurisdiction
    assert (r.public.lat, r.public.long) != (39.78, -89.65) and r.public.address == "100 block of S 5TH ST"
    assert event.causation_id is not None and event.request_id == "AAAA-0001"


async def test_an_address_only_request_is_geocoded() -> None:
    hit = GeocodeResult(39.79, -89.64, "210 E MONROE ST", 0.95, "gazetteer", MatchKind.address_point)
    d, out = deps(FakeGeocoder(answers={"210 e monroe": [hit]}))
    await when_request_event_place_and_check(
        d, submitted("AAAA-0002", lat=None, long=None, address="210 e monroe")
    )
    [event] = out.of_type(LocationResolved)
    assert (event.payload.lat, event.payload.method, event.payload.confidence) == (
        39.79,
        LocationMethod.geocoded,
        0.95,
    )


@pytest.mark.parametrize(
    ("answers", "down", "reason"),
    [
        ({}, False, UnresolvedReason.address_not_found),
        (
            {"nowhere": [GeocodeResult(39.79, -89.64, "NOWHERE RD", 0.2, "gazetteer", MatchKind.street)]},
            False,
            UnresolvedReason.low_confidence,
        ),
        ({}, True, UnresolvedReason.geocoder_unavailable),
    ],
)
async def test_an_address_geo_cannot_place_is_reported_unresolved(
    answers: dict, down: bool, reason: UnresolvedReason
) -> None:
    d, out = deps(FakeGeocoder(answers=answers, down=down))
    await when_request_event_place_and_check(
        d, submitted("AAAA-0003", lat=None, long=None, address="nowhere")
    )
    [event] = out.of_type(LocationUnresolved)
    assert event.payload.reason is reason
    assert not out.of_type(LocationResolved) and not out.of_type(DuplicateSuspected)


async def test_a_point_outside_every_area_is_flagged_not_dropped() -> None:
    d, out = deps()
    await when_request_event_place_and_check(d, submitted("AAAA-0004", lat=40.5, long=-88.0))
    [event] = out.of_type(LocationResolved)
    assert event.payload.inside_jurisdiction is False and event.payload.service_areas == []


async def test_with_a_boundary_only_the_boundary_decides_inside() -> None:
    boundary = AreaRef(area_id="city", kind="boundary", name="Springfield", version=1)
    d, out = deps()
    d.areas = FakeAreas([(WARD_1, (39.7, -89.7, 39.9, -89.6)), (boundary, (39.75, -89.7, 39.9, -89.6))])
    await when_request_event_place_and_check(
        d, submitted("AAAA-0006", lat=39.71)
    )  # in the ward, not the city
    await when_request_event_place_and_check(d, submitted("AAAA-0007", lat=39.80))
    flags = {e.request_id: e.payload.inside_jurisdiction for e in out.of_type(LocationResolved)}
    assert flags == {"AAAA-0006": False, "AAAA-0007": True}


async def test_a_provider_outage_keeps_a_reporters_point() -> None:
    d, out = deps(FakeGeocoder(down=True))
    await when_request_event_place_and_check(d, submitted("AAAA-0005"))
    [event] = out.of_type(LocationResolved)
    assert event.payload.address is None and event.payload.lat == 39.78


async def test_a_nearby_open_request_of_the_same_category_is_a_suspected_duplicate() -> None:
    places = FakePlaces()
    d, out = deps(places=places)
    await when_request_event_place_and_check(d, submitted("AAAA-0010"))
    await when_request_event_place_and_check(
        d, submitted("AAAA-0011", lat=39.7810, at=T0 + timedelta(hours=2))
    )
    [event] = out.of_type(DuplicateSuspected)
    assert event.request_id == "AAAA-0011"
    [candidate] = event.payload.candidates
    assert candidate.request_id == "AAAA-0010" and 100 < candidate.distance_m < 125
    assert event.payload.radius_m == 500


async def test_far_closed_merged_old_or_unrelated_requests_are_not_candidates() -> None:
    places = FakePlaces()
    d, out = deps(
        places=places, policy=PlacingPolicy(duplicates=DuplicatePolicy(radius_m=500, window_days=7))
    )
    await when_request_event_place_and_check(d, submitted("AAAA-0020", lat=39.80))  # 2.2 km away
    await when_request_event_place_and_check(d, submitted("AAAA-0021", code="graffiti"))  # unrelated category
    await when_request_event_place_and_check(d, submitted("AAAA-0022", at=T0 - timedelta(days=8)))  # too old
    await when_request_event_place_and_check(d, submitted("AAAA-0023"))
    closed = Event.create(
        StatusChanged(status=RequestStatus.closed),
        request_id="AAAA-0023",
        jurisdiction_id=J,
        actor=Actor(kind=ActorKind.agent, id="a1"),
        source="agent",
    )
    await when_request_event_place_and_check(d, closed)
    await when_request_event_place_and_check(d, submitted("AAAA-0024"))
    merged = Event.create(
        MergedAsDuplicate(original_request_id="AAAA-0099"),
        request_id="AAAA-0024",
        jurisdiction_id=J,
        actor=Actor(kind=ActorKind.agent, id="a1"),
        source="agent",
    )
    await when_request_event_place_and_check(d, merged)
    out.events.clear()
    await when_request_event_place_and_check(d, submitted("AAAA-0025"))
    assert not out.of_type(DuplicateSuspected)


async def test_categories_of_one_group_are_related() -> None:
    places = FakePlaces()
    await places.define_service(J, "pothole", "roads")
    await places.define_service(J, "sinkhole", "roads")
    d, out = deps(places=places)
    await when_request_event_place_and_check(d, submitted("AAAA-0030", code="sinkhole"))
    await when_request_event_place_and_check(d, submitted("AAAA-0031", code="pothole"))
    [event] = out.of_type(DuplicateSuspected)
    assert [c.request_id for c in event.payload.candidates] == ["AAAA-0030"]
    d.policy = PlacingPolicy(related_by_group=False)
    out.events.clear()
    await when_request_event_place_and_check(d, submitted("AAAA-0032", code="sinkhole", lat=39.7801))
    assert [c.request_id for c in out.of_type(DuplicateSuspected)[0].payload.candidates] == ["AAAA-0030"]


async def test_a_replayed_submission_is_not_decided_again() -> None:
    places = FakePlaces()
    d, out = deps(places=places)
    first = submitted("AAAA-0040")
    await when_request_event_place_and_check(d, first)
    [placed] = out.events
    await when_request_event_place_and_check(
        d, submitted("AAAA-0041")
    )  # would now be a candidate of AAAA-0040
    out.events.clear()
    await when_request_event_place_and_check(d, first)
    assert out.events == [], "geo decides a request once; a replay publishes nothing new"
    assert placed.event_id == derived_event_id("location", first.event_id)


def corrected(number: str, lat: float, long: float, address: str | None = None) -> Event[LocationCorrected]:
    return Event.create(
        LocationCorrected(lat=lat, long=long, address=address),
        request_id=number,
        jurisdiction_id=J,
        actor=Actor(kind=ActorKind.agent, id="a1"),
        source="agent",
    )


async def test_an_agent_places_a_request_geo_could_not_and_it_joins_the_duplicate_check() -> None:
    places = FakePlaces()
    d, out = deps(places=places)
    await when_request_event_place_and_check(d, submitted("AAAA-0050"))
    await when_request_event_place_and_check(
        d, submitted("AAAA-0051", lat=None, long=None, address="nowhere")
    )
    assert out.of_type(LocationUnresolved)
    out.events.clear()
    fix = corrected("AAAA-0051", 39.7801, -89.6501, "101 S 5TH ST")
    await when_request_event_place_and_check(d, fix)
    [placed] = out.of_type(LocationResolved)
    r: LocationResolved = placed.payload
    assert (r.method, r.provider, r.lat, r.address) == (
        LocationMethod.corrected,
        "agent",
        39.7801,
        "101 S 5TH ST",
    )
    assert r.service_areas == [WARD_1] and placed.event_id == derived_event_id("location", fix.event_id)
    [dup] = out.of_type(DuplicateSuspected)
    assert [c.request_id for c in dup.payload.candidates] == ["AAAA-0050"]
    assert places.rows["AAAA-0051"]["place"].lat == 39.7801


async def test_an_agent_moves_a_placed_request_without_a_new_duplicate_check() -> None:
    places = FakePlaces()
    nearest = GeocodeResult(39.85, -89.62, "9 N OAK ST", 0.9, "gazetteer", MatchKind.address_point)
    d, out = deps(FakeGeocoder(nearest=nearest), places=places)
    await when_request_event_place_and_check(d, submitted("AAAA-0060", address="wrong place"))
    out.events.clear()
    await when_request_event_place_and_check(d, corrected("AAAA-0060", 39.85, -89.62))
    [placed] = out.of_type(LocationResolved)
    assert placed.payload.address == "9 N OAK ST", "no address given: the nearest known one"
    assert not out.of_type(DuplicateSuspected)
    assert (places.rows["AAAA-0060"]["place"].lat, places.rows["AAAA-0060"]["place"].long) == (39.85, -89.62)
