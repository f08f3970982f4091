"""Agents' work in the Open311 view: what GET requests and servicerequestupdates show of each work event
(SR-03, SR-04, SR-05, SR-10, FX-01, ST-01, ST-02), and what they never show (SR-21: internal notes, assignments,
priorities, a visit's time, place and note)."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import Actor, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    Priority,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_gateway.domain.request_view import NO_CHANGE, RequestRow, fold, fold_many, named_services
from civicloop_gateway.domain.work_notes import (
    CLOSE_TEXTS,
    VISIT_CANCELLED,
    VISIT_RESCHEDULED,
    VISIT_SCHEDULED,
    closed_as,
    reason_text,
)
from civicloop_testing.events import request_event

T0 = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
CITY = "springfield.example.gov"
AGENT = Actor(kind=ActorKind.agent, id="agent-7")
VISIT_AT = datetime(2026, 3, 9, 8, 30, tzinfo=UTC)
SECRET_ADDRESS = "14 Private Lane, Flat 3"


def _event(payload, minutes: int, request_id: str = "WORK-0001"):
    return request_event(
        payload,
        request_id=request_id,
        actor=AGENT,
        source="agent",
        jurisdiction_id=CITY,
        occurred_at=T0 + timedelta(minutes=minutes),
    )


def _opened() -> RequestRow:
    submitted = ServiceRequestSubmitted(
        service_code="POTHOLE", description="Deep hole", location=Location(lat=38.9, long=-77.0)
    )
    return fold(None, _event(submitted, 0), service_name="Pothole").request


def _closed(reason: str, *, note: str | None = None, referred_to: str | None = None) -> StatusChanged:
    return StatusChanged(
        status=RequestStatus.closed, reason=reason, referred_to=referred_to, public_note=note
    )


# -- close and reopen with a reason ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "referred_to", "text", "extended"),
    [
        ("fixed", None, "Fixed", "fixed"),
        ("duplicate", None, "Duplicate of another report", "duplicate"),
        ("not_ours", "State DOT", "Not ours: referred to State DOT", "not_councils_responsibility"),
        ("could_not_locate", None, "Could not locate the problem", "closed"),
        ("no_action_needed", None, "No action needed", "no_further_action"),
        ("weather_damage", None, "Closed: weather damage", "closed"),  # a code configured elsewhere
    ],
)
def test_SR_03_ST_02_a_close_without_a_note_is_explained_by_its_reason(reason, referred_to, text, extended):
    closed = fold(_opened(), _event(_closed(reason, referred_to=referred_to), 30))
    assert (closed.request.status, closed.request.status_notes) == ("closed", text)
    assert closed.request.updated_datetime == T0 + timedelta(minutes=30)  # SR-10: the close time
    assert (closed.update.status, closed.update.description) == (extended, text)
    assert closed.update.external_status_code == "closed"


def test_SR_03_a_close_s_public_note_wins_over_its_reason():
    closed = fold(_opened(), _event(_closed("fixed", note="Filled and rolled"), 30))
    assert closed.request.status_notes == closed.update.description == "Filled and rolled"
    assert closed.update.status == "fixed"


def test_ST_02_a_reopen_is_named_and_explained_by_its_reason():
    closed = fold(_opened(), _event(_closed("fixed"), 30)).request
    reopened = fold(
        closed,
        _event(
            StatusChanged(status=RequestStatus.open, previous_status=RequestStatus.closed, reason="recurred"),
            90,
        ),
    )
    assert (reopened.request.status, reopened.request.status_notes) == (
        "open",
        "Reopened: the problem came back",
    )
    assert reopened.request.updated_datetime == T0 + timedelta(minutes=90)
    assert (reopened.update.status, reopened.update.description) == (
        "reopen",
        "Reopened: the problem came back",
    )


def test_a_back_end_s_status_change_without_a_reason_reads_as_before():
    assert reason_text(RequestStatus.closed, None, None) is None
    assert closed_as(None) == "closed"
    closed = fold(_opened(), _event(StatusChanged(status=RequestStatus.closed), 30))
    assert closed.request.status_notes is None and closed.update.description == ""
    assert closed.update.status == "closed"


@pytest.mark.parametrize(
    "status", [RequestStatus.acknowledged, RequestStatus.in_progress, RequestStatus.on_hold]
)
def test_ST_01_every_status_an_agent_sets_but_closed_is_open(status):
    change = fold(_opened(), _event(StatusChanged(status=status, public_note="Working on it"), 10))
    assert change.request.status == "open" and change.request.civicloop_status is status
    assert change.request.status_notes == "Working on it"
    assert change.request.updated_datetime == T0 + timedelta(minutes=10)


def test_SR_03_a_wordless_move_within_open_keeps_the_latest_public_word_a_wordless_close_clears_it():
    row = fold(
        _opened(), _event(CommentAdded(text="Crew booked", visibility=CommentVisibility.public), 5)
    ).request
    working = fold(row, _event(StatusChanged(status=RequestStatus.in_progress), 10))
    assert working.request.status_notes == "Crew booked" and working.update.description == ""
    closed = fold(working.request, _event(StatusChanged(status=RequestStatus.closed), 20))
    assert closed.request.status_notes is None


# -- category changes -------------------------------------------------------------------------------------------------


def test_SR_04_SR_05_a_category_change_shows_the_new_service_and_its_public_note():
    row = _opened()
    moved = fold(
        row,
        _event(
            CategoryChanged(
                service_code="SINKHOLE",
                previous_service_code="POTHOLE",
                note="caller unsure, staff only",
                public_note="This is a sinkhole: the roads team has it",
            ),
            20,
        ),
        service_name="Sinkhole",
    )
    assert (moved.request.service_code, moved.request.service_name) == ("SINKHOLE", "Sinkhole")
    assert moved.request.status_notes == "This is a sinkhole: the roads team has it"
    assert moved.request.updated_datetime == T0 + timedelta(minutes=20)
    assert moved.update.description == "This is a sinkhole: the roads team has it"
    assert moved.update.status == "open"
    assert "staff only" not in repr(moved)


def test_a_category_change_without_a_public_note_keeps_the_status_note():
    row = fold(
        _opened(), _event(StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), 5)
    ).request
    moved = fold(
        row,
        _event(CategoryChanged(service_code="SINKHOLE", previous_service_code="POTHOLE"), 20),
        service_name=None,
    )
    assert moved.request.status_notes == "Seen" and moved.request.service_name is None
    assert moved.update.description == "" and moved.update.status == "investigating"


# -- visits -----------------------------------------------------------------------------------------------------------


def _visits():
    note = f"A crew will visit {SECRET_ADDRESS} on 9 March at 08:30."
    return [
        (
            VisitScheduled(
                visit_id="v1",
                starts_at=VISIT_AT,
                duration_minutes=60,
                address=SECRET_ADDRESS,
                public_note=note,
            ),
            VISIT_SCHEDULED,
        ),
        (
            VisitRescheduled(
                visit_id="v1",
                starts_at=VISIT_AT + timedelta(days=1),
                duration_minutes=90,
                previous_starts_at=VISIT_AT,
                address=SECRET_ADDRESS,
                public_note=note,
            ),
            VISIT_RESCHEDULED,
        ),
        (VisitCancelled(visit_id="v1", starts_at=VISIT_AT, public_note=note), VISIT_CANCELLED),
    ]


@pytest.mark.parametrize(("payload", "words"), _visits())
def test_FX_01_a_visit_is_an_update_that_never_says_when_or_where(payload, words):
    row = fold(
        _opened(), _event(StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), 5)
    ).request
    change = fold(row, _event(payload, 40))
    assert change.update.description == words and change.update.status == "investigating"
    assert change.request.updated_datetime == T0 + timedelta(minutes=40)  # SR-10: a public change
    assert change.request.status_notes == "Seen"  # the visit's note (it names the address) is not shown
    shown = repr(change)
    assert SECRET_ADDRESS not in shown and "Private Lane" not in shown
    assert "2026-03-09" not in shown and "08:30" not in shown


def test_SR_10_a_visit_cancelled_after_closing_keeps_the_close_time():
    closed = fold(_opened(), _event(_closed("fixed"), 30)).request
    cancelled = fold(closed, _event(_visits()[2][0], 60))
    assert cancelled.request.updated_datetime == T0 + timedelta(minutes=30)
    assert cancelled.request.status_notes == "Fixed"
    assert (cancelled.update.status, cancelled.update.description) == ("closed", VISIT_CANCELLED)


# -- what Open311 never shows -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        RequestAssigned(team_id="roads", staff_id="agent-9", note="give it to Sam"),
        PriorityChanged(priority=Priority.high, previous_priority=Priority.normal, note="councillor asked"),
        CommentAdded(text="caller was rude", visibility=CommentVisibility.internal),
    ],
)
def test_SR_21_assignments_priorities_and_internal_notes_change_nothing(payload):
    assert fold(_opened(), _event(payload, 15)) == NO_CHANGE


# -- the whole sequence, in batches ---------------------------------------------------------------------------------


def _work_log():
    submitted = ServiceRequestSubmitted(
        service_code="POTHOLE", description="Deep hole", location=Location(lat=38.9, long=-77.0)
    )
    return [
        _event(submitted, 0),
        _event(StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), 1),
        _event(RequestAssigned(team_id="roads"), 2),
        _event(CommentAdded(text="We are on it", visibility=CommentVisibility.public), 3),
        _event(CommentAdded(text="staff only", visibility=CommentVisibility.internal), 4),
        _event(_visits()[0][0], 5),
        _event(CategoryChanged(service_code="SINKHOLE", previous_service_code="POTHOLE"), 6),
        _event(_closed("not_ours", referred_to="State DOT"), 7),
        _event(StatusChanged(status=RequestStatus.open, reason="not_fixed"), 8),
    ]


@pytest.mark.parametrize("batch_size", [1, 2, 4, 9])
def test_a_worked_request_folds_the_same_in_any_batches_and_ends_as_the_log_says(batch_size):
    log = _work_log()
    names = {(CITY, "POTHOLE"): "Pothole", (CITY, "SINKHOLE"): "Sinkhole"}
    assert named_services(log) == sorted(names)
    rows: dict[str, RequestRow] = {}
    updates = []
    for start in range(0, len(log), batch_size):
        change = fold_many(rows, log[start : start + batch_size], service_names=names)
        rows |= change.requests
        updates += change.updates
    row = rows["WORK-0001"]
    assert (row.status, row.service_code, row.service_name) == ("open", "SINKHOLE", "Sinkhole")
    assert row.status_notes == "Reopened: the problem is not fixed"
    assert row.updated_datetime == T0 + timedelta(minutes=8)
    assert [u.status for u in updates] == [
        "investigating",
        "investigating",
        "investigating",
        "investigating",
        "not_councils_responsibility",
        "reopen",
    ]
    assert [u.description for u in updates] == [
        "Seen",
        "We are on it",
        VISIT_SCHEDULED,
        "",
        "Not ours: referred to State DOT",
        "Reopened: the problem is not fixed",
    ]
    assert "staff only" not in repr(updates) and "roads" not in repr(updates)


# ST-02 [ADAPTER Role/mySociety.pm `rx/status_extended`]: the lower-case statuses a GET servicerequestupdates may say.
MYSOCIETY_STATUSES = {
    "unchanged",
    "open",
    "closed",
    "fixed",
    "in_progress",
    "planned",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "cancelled",
    "reopen",
    "for_triage",
}


@pytest.mark.parametrize("reason", [*CLOSE_TEXTS, "weather_damage", None])
def test_ST_02_every_close_s_update_status_is_one_of_mysociety_s(reason):
    assert closed_as(reason) in MYSOCIETY_STATUSES
    closed = fold(_opened(), _event(StatusChanged(status=RequestStatus.closed, reason=reason), 30))
    assert closed.update.status in MYSOCIETY_STATUSES and closed.request.status == "closed"
