"""The agent view's fold, event by event, without IO."""

from __future__ import annotations

from uuid import uuid4

import pytest
from agent_fold_kit import NUMBER, J, at, on_request, replay
from civicloop_events import (
    Actor,
    CommentAdded,
    Event,
    Location,
    ServiceRequestSubmitted,
    StatusChanged,
    decode_event,
)
from civicloop_events.personal_data import SealedPersonalData
from civicloop_events.registry import encode_event
from civicloop_projections.domain.agent_request import fold
from civicloop_projections.domain.history import history_entry
from civicloop_testing.legacy_events import submitted_v1


def event(payload, minutes: float = 0, actor: str = "agent") -> Event:
    return on_request(payload, minutes, Actor(kind=actor, id="x"), "web")


def submission(**overrides) -> Event:
    fields = {
        "service_code": "pothole",
        "description": "deep",
        "location": Location(lat=34.05, long=-118.25, address_string="1 Main St"),
        "attributes": {"size": ["large"]},
        "media_urls": ["https://img/1.jpg"],
        **overrides,
    }
    return event(ServiceRequestSubmitted(**fields), actor="resident")


def test_a_submission_opens_the_request():
    e = submission()
    state = fold(None, e)
    assert (state.request_number, state.jurisdiction_id, state.service_code) == (NUMBER, J, "pothole")
    assert (state.status, state.event_count, state.last_event_id) == ("open", 1, e.event_id)
    assert (state.lat, state.long, state.address_string) == (34.05, -118.25, "1 Main St")
    assert state.submitted_at == state.updated_at == at(0)
    assert state.closed_at is None and state.resident_id is None


def test_only_the_resident_reference_is_kept_of_a_sealed_contact():
    resident = uuid4()
    sealed = SealedPersonalData(resident_id=resident, nonce="bm9uY2U=", ciphertext="c2VjcmV0")
    state = fold(None, submission(contact=sealed, preferred_channel="sms"))
    assert (state.resident_id, state.preferred_channel) == (resident, "sms")
    assert "c2VjcmV0" not in repr(state)


def test_status_changes_set_status_code_and_closing_time():
    state = replay(
        submission(),
        event(StatusChanged(status="acknowledged", external_status_code="ACK"), minutes=5),
        event(StatusChanged(status="closed", external_status_code="DONE"), minutes=30),
    )
    assert (state.status, state.external_status_code, state.closed_at) == ("closed", "DONE", at(30))
    assert (state.event_count, state.updated_at) == (3, at(30))


def test_reopening_clears_the_closing_time_and_closing_twice_keeps_the_first():
    closed_twice = replay(
        submission(), event(StatusChanged(status="closed"), 10), event(StatusChanged(status="closed"), 20)
    )
    assert closed_twice.closed_at == at(10)
    reopened = fold(closed_twice, event(StatusChanged(status="in_progress"), 30))
    assert (reopened.status, reopened.closed_at) == ("in_progress", None)


def test_a_comment_counts_and_touches_but_changes_no_field():
    before = fold(None, submission())
    after = fold(before, event(CommentAdded(text="seen"), minutes=3))
    assert (after.event_count, after.updated_at, after.status, after.description) == (
        2,
        at(3),
        "open",
        "deep",
    )


def test_updated_at_never_goes_backwards_for_a_backdated_event():
    state = replay(submission(), event(CommentAdded(text="late import"), minutes=-60))
    assert state.updated_at == at(0)


def test_an_event_before_the_submission_creates_nothing():
    assert fold(None, event(StatusChanged(status="closed"))) is None
    assert fold(None, event(CommentAdded(text="hello?"))) is None


def test_a_repeated_submission_counts_but_the_first_defines_the_request():
    state = replay(submission(), submission(service_code="graffiti", description="changed"))
    assert (state.service_code, state.description, state.event_count) == ("pothole", "deep", 2)


def test_a_v1_submission_read_from_the_log_is_folded_with_its_location():
    v1 = submitted_v1(
        NUMBER,
        service_code="graffiti",
        lat=34.1,
        long=-118.3,
        address_string="2 Elm",
        media_url="https://img/old.jpg",
    )
    read = decode_event(encode_event(v1))
    state = fold(None, read)
    assert (state.lat, state.long, state.address_string, state.media_urls) == (
        34.1,
        -118.3,
        "2 Elm",
        ("https://img/old.jpg",),
    )
    entry = history_entry(read)
    assert entry.schema_version == ServiceRequestSubmitted.schema_version
    assert entry.summary["location"]["lat"] == 34.1


def test_history_keeps_the_envelope_and_payload_but_never_the_contact():
    sealed = SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VjcmV0")
    e = submission(contact=sealed)
    entry = history_entry(e)
    assert "contact" not in entry.summary
    assert entry.summary["service_code"] == "pothole"
    assert (entry.event_id, entry.type, entry.actor_kind, entry.source) == (
        e.event_id,
        ServiceRequestSubmitted.event_type,
        "resident",
        "web",
    )


@pytest.mark.parametrize("status", ["open", "acknowledged", "in_progress", "on_hold"])
def test_every_status_but_closed_leaves_closed_at_empty(status):
    assert fold(fold(None, submission()), event(StatusChanged(status=status), 1)).closed_at is None
