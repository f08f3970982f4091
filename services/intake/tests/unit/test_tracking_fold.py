from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import (
    Actor,
    ActorKind,
    CommentAdded,
    Event,
    Location,
    SealedPersonalData,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.payloads import CommentVisibility, RequestStatus
from civicloop_intake.domain.tracking import HistoryKind, fold

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SEALED = SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk")


def event(payload, minutes=0, number="7K3D-Q9XA"):
    return Event.create(payload, request_id=number, jurisdiction_id="demo", actor=Actor(kind=ActorKind.agent),
                        source="agent", occurred_at=T0 + timedelta(minutes=minutes))


SUBMITTED = event(ServiceRequestSubmitted(service_code="pothole", description="Deep hole",
                                          location=Location(lat=38.9, long=-77.0), contact=SEALED))


def test_submission_opens_the_view_with_the_sealed_contact():
    state = fold(None, SUBMITTED)
    assert state.request_number == "7K3D-Q9XA"
    assert state.status is RequestStatus.open
    assert state.contact == SEALED
    assert state.submitted_at == state.updated_at == T0
    assert state.history == ()


def test_status_changes_and_public_comments_make_the_history():
    state = fold(None, SUBMITTED)
    state = fold(state, event(StatusChanged(status=RequestStatus.in_progress, public_note="Crew on the way"), 5))
    state = fold(state, event(CommentAdded(text="Filled today", visibility=CommentVisibility.public), 9))
    assert state.status is RequestStatus.in_progress
    assert state.updated_at == T0 + timedelta(minutes=9)
    assert [(h.kind, h.status, h.note, h.text) for h in state.history] == [
        (HistoryKind.status, RequestStatus.in_progress, "Crew on the way", None),
        (HistoryKind.comment, None, None, "Filled today"),
    ]


def test_internal_comments_leave_no_trace():
    state = fold(None, SUBMITTED)
    after = fold(state, event(CommentAdded(text="Resident is rude", visibility=CommentVisibility.internal), 3))
    assert after is state


def test_events_before_the_submission_track_nothing():
    assert fold(None, event(StatusChanged(status=RequestStatus.closed))) is None


def test_a_second_submission_under_the_same_number_changes_nothing():
    state = fold(None, SUBMITTED)
    other = event(ServiceRequestSubmitted(service_code="graffiti", description="Tag",
                                          location=Location(address_string="1 Main St")), 1)
    assert fold(state, other) is state
