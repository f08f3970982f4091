"""geo's events and agents' merges in the agent view's fold, without IO."""

from __future__ import annotations

from datetime import timedelta

from agent_fold_kit import NUMBER, T0, J, on_request, replay
from civicloop_events import Actor, Event, Location, ServiceRequestSubmitted, decode_event
from civicloop_events.payloads import AreaRef, MergedAsDuplicate
from civicloop_events.registry import encode_event
from civicloop_projections.domain import agent_request
from civicloop_projections.domain.agent_request import fold
from civicloop_projections.service_layer.fakes import InMemoryAgentViewStore
from civicloop_projections.service_layer.handlers import when_request_event_update_agent_view
from civicloop_testing.geo_events import (
    GEO,
    address_not_found,
    cluster_detected,
    duplicate_candidate,
    duplicate_suspected,
    location_resolved,
    public_place_at,
)

ORIGINAL = "WXYZ-9876"
PUBLIC = public_place_at(34.0521, -118.2436, "200 block of N SPRING ST")


def event(payload, minutes: float = 0, actor: Actor = GEO, source: str = "geo") -> Event:
    return on_request(payload, minutes, actor, source)


SUBMITTED = event(
    ServiceRequestSubmitted(
        service_code="pothole", description="deep", location=Location(address_string="200 N Spring St")
    ),
    actor=Actor(kind="resident"),
    source="web",
)


def resolved(minutes: float = 1, *, areas=("cd-14", "nc-downtown"), inside: bool = True) -> Event:
    refs = [
        AreaRef(
            area_id=a,
            kind="council_district" if a.startswith("cd") else "neighborhood_council",
            name=a.upper(),
            version=2,
        )
        for a in areas
    ]
    return event(
        location_resolved(
            34.0537,
            -118.2428,
            "200 N Spring St, Los Angeles",
            public=PUBLIC,
            areas=refs,
            inside_jurisdiction=inside,
            confidence=0.92,
        ),
        minutes,
    )


def unresolved(minutes: float = 1) -> Event:
    return event(address_not_found(0.31, "no street named Sprung"), minutes)


def candidates(minutes: float = 2, *ids: str) -> Event:
    found = [
        duplicate_candidate(
            i, distance_m=12.5 * (k + 1), submitted_at=T0 - timedelta(days=1), score=0.9 - k / 10
        )
        for k, i in enumerate(ids)
    ]
    return event(duplicate_suspected(found), minutes)


def merge(minutes: float = 3, original: str = ORIGINAL) -> Event:
    return event(
        MergedAsDuplicate(original_request_id=original, note="same hole"),
        minutes,
        actor=Actor(kind="agent", id="agent-7"),
        source="agent",
    )


def test_a_resolved_location_gives_the_point_address_provider_areas_and_verdict():
    state = replay(SUBMITTED, resolved())
    assert state.placement == agent_request.Placement(
        34.0537,
        -118.2428,
        "200 N Spring St, Los Angeles",
        "geocoded",
        "gazetteer",
        0.92,
        T0 + timedelta(minutes=1),
    )
    assert [(a.area_id, a.kind, a.version) for a in state.service_areas] == [
        ("cd-14", "council_district", 2),
        ("nc-downtown", "neighborhood_council", 2),
    ]
    assert state.geo_area_ids == ("cd-14", "nc-downtown")
    assert state.inside_jurisdiction is True and state.unplaced is None
    # geo's verdict is counted but does not move `updated_at`: it is not a change of the request itself.
    assert (state.event_count, state.updated_at) == (2, T0)
    assert (state.lat, state.long, state.address_string) == (None, None, "200 N Spring St")  # as submitted


def test_a_point_outside_every_area_is_placed_with_no_areas_and_flagged():
    state = replay(SUBMITTED, resolved(areas=(), inside=False))
    assert state.service_areas == () and state.geo_area_ids == ()
    assert state.inside_jurisdiction is False


def test_an_unresolved_location_needs_placing_until_geo_resolves_it():
    state = replay(SUBMITTED, unresolved())
    assert state.unplaced == agent_request.Unplaced(
        "address_not_found", 0.31, "no street named Sprung", T0 + timedelta(minutes=1)
    )
    assert state.placement is None and state.service_areas is None and state.inside_jurisdiction is None
    state = fold(state, resolved(5))
    assert state.unplaced is None and state.placement is not None


def test_the_latest_verdict_wins_an_unresolved_one_withdraws_the_placement():
    state = replay(SUBMITTED, resolved(1), unresolved(2))
    assert state.unplaced is not None
    assert (state.placement, state.service_areas, state.inside_jurisdiction) == (None, None, None)


def test_suspected_duplicates_are_kept_best_first_and_the_latest_check_replaces_them():
    state = replay(SUBMITTED, candidates(2, "AAAA-0001", "AAAA-0002"))
    assert [(c.request_id, c.distance_m, c.score) for c in state.duplicate_candidates] == [
        ("AAAA-0001", 12.5, 0.9),
        ("AAAA-0002", 25.0, 0.8),
    ]
    state = fold(state, candidates(4, "AAAA-0003"))
    assert [c.request_id for c in state.duplicate_candidates] == ["AAAA-0003"]


def test_a_merge_records_the_original_once_and_changes_no_status():
    state = replay(SUBMITTED, merge(3))
    assert (state.merged_into, state.merged_at, state.merge_note) == (
        ORIGINAL,
        T0 + timedelta(minutes=3),
        "same hole",
    )
    assert state.status == "open"
    again = fold(state, merge(6, original="QQQQ-1111"))
    assert again.merged_into == ORIGINAL and again.event_count == state.event_count + 1


def test_geo_events_before_the_submission_create_nothing():
    assert replay(resolved(), unresolved(), candidates(2, "AAAA-0001"), merge()) is None


def test_geo_events_round_trip_through_the_log_and_fold_the_same():
    events = [SUBMITTED, resolved(), candidates(2, "AAAA-0001"), merge()]
    assert replay(*events) == replay(*(decode_event(encode_event(e)) for e in events))


async def test_a_cluster_is_about_no_request_and_leaves_the_agent_view_untouched():
    store = InMemoryAgentViewStore()
    await when_request_event_update_agent_view(store, SUBMITTED)
    before = dict(store.rows), list(store.history)
    cluster = cluster_detected(
        [NUMBER, ORIGINAL], centre=PUBLIC, radius_m=40, window_start=T0, jurisdiction_id=J
    )
    await when_request_event_update_agent_view(store, cluster)
    assert (dict(store.rows), list(store.history)) == before
