from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    Location,
    MergedAsDuplicate,
    MessageKind,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    ServiceRequestSubmitted,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_notifier.domain.notices import notice_for
from notifier_events import event

START = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def kind(payload):
    notice = notice_for(event(payload))
    return notice.kind if notice else None


def test_a_submission_is_received():
    submitted = ServiceRequestSubmitted(service_code="pothole", location=Location(lat=1.0, long=2.0))
    assert kind(submitted) is MessageKind.received


@pytest.mark.parametrize(
    ("previous", "status", "expected"),
    [
        ("open", "acknowledged", MessageKind.acknowledged),
        ("acknowledged", "in_progress", MessageKind.status_changed),
        ("in_progress", "on_hold", MessageKind.status_changed),
        ("in_progress", "closed", MessageKind.closed),
        ("closed", "open", MessageKind.reopened),
        ("closed", "in_progress", MessageKind.reopened),
        ("closed", "closed", None),
        ("in_progress", "in_progress", None),
    ],
)
def test_a_status_change_is_told_by_what_it_means_to_the_resident(previous, status, expected):
    assert kind(StatusChanged(status=status, previous_status=previous)) is expected


def test_a_close_carries_the_reason_the_referral_and_the_survey():
    notice = notice_for(
        event(
            StatusChanged(
                status="closed",
                previous_status="open",
                reason="not_ours",
                referred_to="State DOT",
                public_note="x",
            )
        )
    )
    assert notice.asks_survey
    assert dict(notice.params) == {"reason": "not_ours", "referred_to": "State DOT", "note": "x"}


def test_an_unchanged_status_with_a_public_note_is_told():
    notice = notice_for(
        event(StatusChanged(status="in_progress", previous_status="in_progress", public_note="Crew"))
    )
    assert notice.kind is MessageKind.status_changed and notice.params["note"] == "Crew"


def test_an_internal_comment_is_never_told_a_public_one_is():
    assert kind(CommentAdded(text="Staff only", visibility="internal")) is None
    notice = notice_for(event(CommentAdded(text="We ordered the part", visibility="public")))
    assert notice.kind is MessageKind.comment and notice.params["note"] == "We ordered the part"


def test_visits_carry_what_the_calendar_needs():
    scheduled = notice_for(
        event(VisitScheduled(visit_id="v1", starts_at=START, duration_minutes=90, address="1 Main St"))
    )
    assert scheduled.kind is MessageKind.visit_scheduled
    assert (scheduled.visit.visit_id, scheduled.visit.starts_at, scheduled.visit.duration_minutes) == (
        "v1",
        START,
        90,
    )
    moved = notice_for(
        event(
            VisitRescheduled(
                visit_id="v1",
                starts_at=START,
                duration_minutes=30,
                previous_starts_at=START,
                address="1 Main St",
            )
        )
    )
    assert moved.kind is MessageKind.visit_rescheduled and moved.visit.visit_id == "v1"
    cancelled = notice_for(event(VisitCancelled(visit_id="v1", starts_at=START)))
    assert cancelled.kind is MessageKind.visit_cancelled and cancelled.visit.cancelled


def test_a_merge_names_the_original():
    notice = notice_for(event(MergedAsDuplicate(original_request_id="1XYZ-9QRS")))
    assert notice.kind is MessageKind.merged and notice.params["original"] == "1XYZ-9QRS"


def test_internal_work_is_never_told():
    assert kind(RequestAssigned(team_id="roads")) is None
    assert kind(PriorityChanged(priority="high")) is None


def test_a_backend_update_is_told_once_by_what_the_poller_makes_of_it():
    received = BackendUpdateReceived(
        body_id="dpw",
        external_id="77",
        update_id="u1",
        backend_status="closed",
        description="Crew filled it",
        updated_at=START,
    )
    # The poller follows the update with its meaning: a status change carrying the note, or a public comment.
    follow_up = StatusChanged(
        status=RequestStatus.closed, previous_status=RequestStatus.open, public_note="Crew filled it"
    )
    note_only = CommentAdded(text="Crew scheduled", visibility=CommentVisibility.public)

    assert kind(received) is None
    assert kind(follow_up) is MessageKind.closed
    assert kind(note_only) is MessageKind.comment
