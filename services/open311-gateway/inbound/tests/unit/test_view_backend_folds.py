"""What a back-end says reaches the Open311 view: its agency (SR-07) and its notes as the request's status_notes
(SR-03), with updated_datetime moved per SR-10."""

import json
from datetime import UTC, datetime, timedelta

from civicloop_events import Actor, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    RequestImported,
    RequestStatus,
)
from civicloop_gateway.domain.request_view import NO_CHANGE, ImportRow, fold, fold_many, opened_by, rendered
from civicloop_testing.events import request_event

REQUESTED = datetime(2016, 5, 2, 8, 30, tzinfo=UTC)
CITY = "helsinki.example"
NUMBER = "ABCD-1234"
BACKEND = Actor(kind=ActorKind.system, id="backend:hki")
AGENT = Actor(kind=ActorKind.agent, id="agent-7")


def _event(payload, at: datetime, actor: Actor = BACKEND):
    return request_event(
        payload, request_id=NUMBER, actor=actor, source="backend:hki", jurisdiction_id=CITY, occurred_at=at
    )


def _imported(agency: str | None = "Rakennusvirasto"):
    return _event(
        RequestImported(
            body_id="hki", external_id="SR-7", backend_service_code="171", agency_responsible=agency
        ),
        REQUESTED,
    )


def _submitted():
    return _event(
        ServiceRequestSubmitted(
            service_code="graffiti", description="tags", location=Location(lat=60.17, long=24.94)
        ),
        REQUESTED,
    )


def _update(at: datetime, agency: str | None):
    return _event(
        BackendUpdateReceived(
            body_id="hki",
            external_id="SR-7",
            update_id=f"u-{at.isoformat()}",
            backend_status="open",
            updated_at=at,
            agency_responsible=agency,
        ),
        at,
    )


def _comment(at: datetime, text: str, visibility=CommentVisibility.public, actor: Actor = BACKEND):
    return _event(CommentAdded(text=text, visibility=visibility), at, actor)


def _fold(events, before=None, imports=None):
    return fold_many(before or {}, events, service_names={}, imports=imports)


def test_SR_07_the_import_names_the_agency_of_the_row_its_submission_opens():
    change = _fold([_imported(), _submitted()])
    row = change.requests[NUMBER]
    assert row.agency_responsible == "Rakennusvirasto"
    assert row.updated_datetime == REQUESTED  # the import is the request's origin, not a change of it
    assert [i.agency_responsible for i in change.imports] == ["Rakennusvirasto"]


def test_SR_07_an_import_kept_from_an_earlier_batch_is_applied_when_the_submission_comes():
    first = _fold([_imported()])
    assert first.requests == {} and len(first.imports) == 1
    kept = {i.service_request_id: i for i in first.imports}
    submitted = [_submitted()]
    assert opened_by({}, submitted) == [NUMBER]
    second = _fold(submitted, imports=kept)
    assert second.requests[NUMBER].agency_responsible == "Rakennusvirasto"
    assert second.imports == []  # kept once


def test_the_first_import_stays():
    second = _event(
        RequestImported(
            body_id="hki", external_id="SR-7", backend_service_code="1", agency_responsible="Other"
        ),
        REQUESTED,
    )
    change = _fold([_imported(), second, _submitted()])
    assert change.requests[NUMBER].agency_responsible == "Rakennusvirasto"
    assert len(change.imports) == 1


def test_SR_07_an_update_naming_another_agency_replaces_it_and_SR_10_moves_updated_datetime():
    later = REQUESTED + timedelta(days=2)
    row = _fold([_imported(), _submitted(), _update(later, "Kaupunkiympäristö")]).requests[NUMBER]
    assert (row.agency_responsible, row.updated_datetime) == ("Kaupunkiympäristö", later)


def test_an_update_naming_no_agency_or_the_same_one_changes_nothing():
    row = _fold([_imported(), _submitted()]).requests[NUMBER]
    later = REQUESTED + timedelta(days=2)
    assert fold(row, _update(later, None)).request is None
    assert fold(row, _update(later, "Rakennusvirasto")).request is None


def test_SR_10_a_closed_request_named_another_agency_keeps_its_close_time():
    closed_at = REQUESTED + timedelta(days=1)
    events = [
        _imported(),
        _submitted(),
        _event(StatusChanged(status=RequestStatus.closed, public_note="Cleaned"), closed_at),
        _update(closed_at + timedelta(days=5), "Kaupunkiympäristö"),
    ]
    row = _fold(events).requests[NUMBER]
    assert (row.agency_responsible, row.updated_datetime) == ("Kaupunkiympäristö", closed_at)


def test_SR_03_a_public_note_becomes_the_status_notes_and_SR_10_moves_updated_datetime():
    noted = REQUESTED + timedelta(days=3)
    change = _fold(
        [
            _imported(),
            _submitted(),
            _event(
                StatusChanged(status=RequestStatus.in_progress, public_note="Crew booked"),
                noted - timedelta(1),
            ),
            _comment(noted, "Paint ordered"),
            _comment(noted + timedelta(hours=1), "the caller is rude", CommentVisibility.internal, AGENT),
        ]
    )
    row = change.requests[NUMBER]
    assert (row.status_notes, row.updated_datetime) == ("Paint ordered", noted)
    assert [u.description for u in change.updates] == [
        "Crew booked",
        "Paint ordered",
    ]  # both are updates (FX-01)


def test_SR_03_an_agents_public_comment_is_the_status_notes_too_until_a_status_change_says_otherwise():
    at = REQUESTED + timedelta(days=1)
    change = _fold(
        [
            _submitted(),
            _comment(at, "We will look at it this week", actor=AGENT),
            _event(StatusChanged(status=RequestStatus.closed, public_note="Cleaned"), at + timedelta(days=2)),
        ]
    )
    assert change.requests[NUMBER].status_notes == "Cleaned"


def test_SR_03_SR_10_a_note_on_a_closed_request_is_an_update_and_leaves_the_close_note_and_time():
    closed_at = REQUESTED + timedelta(days=1)
    change = _fold(
        [
            _submitted(),
            _event(StatusChanged(status=RequestStatus.closed, public_note="Cleaned"), closed_at),
            _comment(closed_at + timedelta(days=4), "Cleaned again after new tags"),
        ]
    )
    row = change.requests[NUMBER]
    assert (row.status_notes, row.updated_datetime) == ("Cleaned", closed_at)
    assert [u.description for u in change.updates] == ["Cleaned", "Cleaned again after new tags"]


def test_the_batch_gives_what_folding_one_event_at_a_time_gives():
    events = [
        _imported(),
        _submitted(),
        _update(REQUESTED + timedelta(days=1), "Kaupunkiympäristö"),
        _comment(REQUESTED + timedelta(days=2), "Paint ordered"),
    ]
    row, kept = None, None
    for event in events:
        one = fold(row, event, imported=kept)
        kept = one.imported or kept
        row = one.request or row
    assert _fold(events).requests[NUMBER] == row


def test_the_served_object_shows_the_agency_and_the_note():
    row = _fold(
        [_imported(), _submitted(), _comment(REQUESTED + timedelta(days=2), "Paint ordered")]
    ).requests[NUMBER]
    shown = rendered(row)
    assert shown is not None
    served = json.loads(shown.json.replace("\x01", "null"))  # the service name's hole
    assert (served["agency_responsible"], served["status_notes"]) == ("Rakennusvirasto", "Paint ordered")
    assert "<agency_responsible>Rakennusvirasto</agency_responsible>" in shown.xml


def test_an_import_row_is_only_what_the_view_serves():
    (kept,) = _fold([_imported()]).imports
    assert kept == ImportRow(NUMBER, "Rakennusvirasto", kept.event_id)


def test_an_import_of_a_request_the_view_has_is_a_repeat_and_changes_nothing():
    row = _fold([_imported(), _submitted()]).requests[NUMBER]
    assert fold(row, _imported("Other")) == fold(row, _imported(None)) == NO_CHANGE
