"""A batch of request events placed and checked at once gives what the events give one by one (in-memory ports)."""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_events import Event, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import AreaRef, DuplicateSuspected, LocationResolved, RequestStatus
from civicloop_geo.service_layer.batch_handler import BatchPlacingDeps, place_and_check_batch
from civicloop_geo.service_layer.handlers import (
    PlacingDeps,
    PlacingPolicy,
    when_request_event_place_and_check,
)
from geo_event_streams import GEOCODED, GROUPS, KNOWN_ADDRESS, NEAREST, RESIDENT, T0, batches, event_stream
from geo_fakes import FakeAreas, FakeGeocoder, FakePlaces, FakePlacingBatch, FakePublisher

J = "springfield"
WARD_1 = AreaRef(area_id="ward-1", kind="ward", name="Ward 1", version=2)
WARD_2 = AreaRef(area_id="ward-2", kind="ward", name="Ward 2", version=1)
AREAS = [(WARD_1, (39.7, -89.7, 39.78, -89.6)), (WARD_2, (39.78, -89.7, 39.9, -89.6))]


def world() -> tuple[FakeGeocoder, FakeAreas, FakePlaces]:
    places = FakePlaces()
    for code, group in GROUPS.items():
        places.groups[(J, code)] = group
    return FakeGeocoder(answers={KNOWN_ADDRESS: [GEOCODED]}, nearest=NEAREST), FakeAreas(AREAS), places


def published(out: FakePublisher) -> list[tuple[Any, str, dict[str, Any]]]:
    return [(e.event_id, e.type, e.payload.model_dump()) for e in out.events]


def state(places: FakePlaces) -> tuple[dict[str, Any], dict[str, Any]]:
    return dict(places.rows), dict(places.decided)


async def one_by_one(events: list[Event[Any]], policy: PlacingPolicy) -> tuple[FakePlaces, FakePublisher]:
    geocoder, areas, places = world()
    out = FakePublisher()
    deps = PlacingDeps(geocoder=geocoder, areas=areas, places=places, publisher=out, policy=policy)
    for event in events:
        await when_request_event_place_and_check(deps, event)
    return places, out


async def batched(cuts: list[list[Event[Any]]], policy: PlacingPolicy) -> tuple[FakePlaces, FakePublisher]:
    geocoder, areas, places = world()
    out = FakePublisher()
    deps = BatchPlacingDeps(
        geocoder=geocoder,
        areas=areas,
        store=FakePlacingBatch(places),
        publisher=out,
        policy=policy,
        geocoder_concurrency=3,
    )
    for batch in cuts:
        await place_and_check_batch(deps, batch)
    return places, out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("related_by_group", [True, False])
async def test_a_batch_gives_what_its_events_give_one_by_one(seed: int, related_by_group: bool) -> None:
    events = event_stream(seed, J)
    policy = PlacingPolicy(related_by_group=related_by_group)
    expected_places, expected_out = await one_by_one(events, policy)
    places, out = await batched(batches(seed, events), policy)
    assert published(out) == published(expected_out)
    assert state(places) == state(expected_places)
    # The stream exercises what it is meant to: placements, duplicates found within a batch and across batches.
    assert expected_out.of_type(LocationResolved) and expected_out.of_type(DuplicateSuspected)


async def test_one_batch_of_the_whole_stream_equals_one_by_one() -> None:
    events = event_stream(99, J, requests=60, length=300)
    expected_places, expected_out = await one_by_one(events, PlacingPolicy())
    places, out = await batched([events], PlacingPolicy())
    assert published(out) == published(expected_out)
    assert state(places) == state(expected_places)


async def test_two_reports_in_one_batch_the_second_names_the_first_and_a_closed_one_names_none() -> None:
    first, second, closing, third = [
        Event.create(p, request_id=rid, jurisdiction_id=J, actor=RESIDENT, source="web", occurred_at=T0)
        for p, rid in [
            (
                ServiceRequestSubmitted(service_code="pothole", location=Location(lat=39.78, long=-89.65)),
                "R1",
            ),
            (
                ServiceRequestSubmitted(service_code="pothole", location=Location(lat=39.7801, long=-89.65)),
                "R2",
            ),
            (StatusChanged(status=RequestStatus.closed), "R1"),
            (
                ServiceRequestSubmitted(service_code="pothole", location=Location(lat=39.7802, long=-89.65)),
                "R3",
            ),
        ]
    ]
    _, out = await batched([[first, second, closing, third]], PlacingPolicy())
    [named_by_second, named_by_third] = out.of_type(DuplicateSuspected)
    assert named_by_second.causation_id == second.event_id
    assert [c.request_id for c in named_by_second.payload.candidates] == ["R1"]
    assert [c.request_id for c in named_by_third.payload.candidates] == ["R2"], "R1 was closed before R3 came"
