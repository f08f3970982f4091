from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import (
    Actor,
    ActorKind,
    CommentAdded,
    Location,
    SealedPersonalData,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.payloads import (
    AreaRef,
    CommentVisibility,
    ExternalReferenceAssigned,
    LocationCorrected,
    LocationMethod,
    MergedAsDuplicate,
    Priority,
    RequestStatus,
    Routed,
)
from civicloop_intake.domain.tracking import ExternalReference, HistoryKind, PlaceArea, fold
from civicloop_testing.events import request_event
from civicloop_testing.geo_events import location_resolved, public_place_at

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SEALED = SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk")


def event(payload, minutes=0, number="7K3D-Q9XA"):
    when = T0 + timedelta(minutes=minutes)
    return request_event(
        payload, request_id=number, actor=Actor(kind=ActorKind.agent), source="agent", occurred_at=when
    )


SUBMITTED = event(
    ServiceRequestSubmitted(
        service_code="pothole",
        description="Deep hole",
        location=Location(lat=38.9, long=-77.0),
        contact=SEALED,
    )
)


def test_submission_opens_the_view_with_the_sealed_contact():
    state = fold(None, SUBMITTED)
    assert state.request_number == "7K3D-Q9XA"
    assert state.status is RequestStatus.open
    assert state.contact == SEALED
    assert state.submitted_at == state.updated_at == T0
    assert state.history == ()


def test_status_changes_and_public_comments_make_the_history():
    state = fold(None, SUBMITTED)
    state = fold(
        state, event(StatusChanged(status=RequestStatus.in_progress, public_note="Crew on the way"), 5)
    )
    state = fold(state, event(CommentAdded(text="Filled today", visibility=CommentVisibility.public), 9))
    assert state.status is RequestStatus.in_progress
    assert state.updated_at == T0 + timedelta(minutes=9)
    assert [(h.kind, h.status, h.note, h.text) for h in state.history] == [
        (HistoryKind.status, RequestStatus.in_progress, "Crew on the way", None),
        (HistoryKind.comment, None, None, "Filled today"),
    ]


def test_internal_comments_leave_no_trace():
    state = fold(None, SUBMITTED)
    after = fold(
        state, event(CommentAdded(text="Resident is rude", visibility=CommentVisibility.internal), 3)
    )
    assert after is state


def test_events_before_the_submission_track_nothing():
    assert fold(None, event(StatusChanged(status=RequestStatus.closed))) is None


def test_a_second_submission_under_the_same_number_changes_nothing():
    state = fold(None, SUBMITTED)
    other = event(
        ServiceRequestSubmitted(
            service_code="graffiti", description="Tag", location=Location(address_string="1 Main St")
        ),
        1,
    )
    assert fold(state, other) is state


def test_an_external_reference_is_kept_and_shown_as_sent():
    state = fold(None, SUBMITTED)
    state = fold(state, event(ExternalReferenceAssigned(body_id="dpw", external_id="SR-4211"), 4))
    assert state.external_references == (ExternalReference("dpw", "SR-4211"),)
    assert state.updated_at == T0 + timedelta(minutes=4)
    assert [(h.kind, h.at, h.text, h.body_id, h.external_id) for h in state.history] == [
        (HistoryKind.sent, T0 + timedelta(minutes=4), "Sent to dpw", "dpw", "SR-4211"),
    ]


def test_references_from_several_bodies_keep_their_order_and_each_pair_counts_once():
    state = fold(None, SUBMITTED)
    state = fold(state, event(ExternalReferenceAssigned(body_id="dpw", external_id="SR-4211"), 1))
    state = fold(state, event(StatusChanged(status=RequestStatus.acknowledged), 2))
    state = fold(state, event(ExternalReferenceAssigned(body_id="water", external_id="WO-77"), 3))
    again = fold(state, event(ExternalReferenceAssigned(body_id="dpw", external_id="SR-4211"), 4))
    assert again is state
    state = fold(state, event(ExternalReferenceAssigned(body_id="dpw", external_id="SR-4300"), 5))
    assert state.external_references == (
        ExternalReference("dpw", "SR-4211"),
        ExternalReference("water", "WO-77"),
        ExternalReference("dpw", "SR-4300"),
    )
    assert [(h.kind, h.text) for h in state.history] == [
        (HistoryKind.sent, "Sent to dpw"),
        (HistoryKind.status, None),
        (HistoryKind.sent, "Sent to water"),
        (HistoryKind.sent, "Sent to dpw"),
    ]


def test_routing_is_internal_and_leaves_no_trace():
    state = fold(None, SUBMITTED)
    after = fold(state, event(Routed(body_id="dpw", team="Night crew", priority=Priority.high), 1))
    assert after is state


def test_a_reference_before_the_submission_tracks_nothing():
    assert fold(None, event(ExternalReferenceAssigned(body_id="dpw", external_id="SR-4211"))) is None


def test_a_merge_records_the_original_and_says_so_without_the_agents_note():
    state = fold(None, SUBMITTED)
    state = fold(
        state, event(MergedAsDuplicate(original_request_id="WXYZ-9876", note="Resident is a pest"), 6)
    )
    assert state.merged_into == "WXYZ-9876"
    assert state.updated_at == T0 + timedelta(minutes=6)
    [entry] = state.history
    assert (entry.kind, entry.text) == (
        HistoryKind.merged,
        "Merged into WXYZ-9876, the same problem reported earlier",
    )
    assert "pest" not in repr(state)
    again = fold(state, event(MergedAsDuplicate(original_request_id="QQQQ-1111"), 7))
    assert again is state


def resolved(address, *areas):
    return event(
        location_resolved(
            38.9,
            -77.0,
            "1204 Main St",
            method=LocationMethod.submitted,
            provider="reporter",
            confidence=1.0,
            areas=[AreaRef(area_id=a.lower(), kind="ward", name=a, version=1) for a in areas],
            public=public_place_at(38.9, -77.0, address, h3_cell="892a1008003ffff"),
        ),
        2,
    )


def test_geo_placement_shows_the_block_level_address_and_area_names_not_as_progress():
    state = fold(None, SUBMITTED)
    placed = fold(state, resolved("1200 block of MAIN ST", "Ward 6", "ANC 6B"))
    assert placed.public_address == "1200 block of MAIN ST"
    assert placed.service_areas == (PlaceArea("ward", "Ward 6"), PlaceArea("ward", "ANC 6B"))
    assert (placed.updated_at, placed.history) == (state.updated_at, ())
    assert fold(placed, resolved("1200 block of MAIN ST", "Ward 6", "ANC 6B")) is placed
    assert fold(placed, resolved("1300 block of MAIN ST", "Ward 6")).public_address == "1300 block of MAIN ST"


def test_an_agents_correction_changes_nothing_until_geo_places_the_request():
    opened = fold(None, SUBMITTED)
    corrected = event(
        LocationCorrected(
            lat=38.8977, long=-77.0365, address="1600 Pennsylvania Ave NW", note="pin was in the river"
        ),
        minutes=5,
    )
    assert fold(opened, corrected) is opened  # the point and the agent's note stay off the view
