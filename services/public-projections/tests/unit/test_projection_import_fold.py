"""Imported requests in the agent view's fold, without IO: their body, agency, flag, and their own times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_fold_kit import NUMBER, J
from civicloop_events import Actor, Event, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    ExternalReferenceAssigned,
    RequestImported,
    RequestStatus,
    Routed,
)
from civicloop_projections.domain.agent_request import ExternalReference, fold, fold_many
from civicloop_testing.events import request_event
from civicloop_testing.geo_events import (
    address_not_found,
    duplicate_candidate,
    duplicate_suspected,
    geo_event,
    location_resolved,
    public_place_at,
)

BACKEND = Actor(kind="system", id="backend:streets")
REQUESTED = datetime(2016, 5, 2, 8, 30, tzinfo=UTC)  # years before the import
IMPORTED_AT = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def backend(payload, when: datetime) -> Event:
    return request_event(
        payload, request_id=NUMBER, actor=BACKEND, source="backend:streets", occurred_at=when
    )


def import_events(*, agency: str | None = "Rakennusvirasto", flag: str | None = None) -> list[Event]:
    """What `open311 import` publishes for one back-end row: the import, the submission, the reference."""
    return [
        backend(
            RequestImported(
                body_id="streets",
                external_id="SR-7",
                backend_service_code="171",
                agency_responsible=agency,
                location_flag=flag,
            ),
            REQUESTED,
        ),
        backend(
            ServiceRequestSubmitted(
                service_code="graffiti", description="tags", location=Location(lat=60.17, long=24.94)
            ),
            REQUESTED,
        ),
        backend(ExternalReferenceAssigned(body_id="streets", external_id="SR-7"), REQUESTED),
    ]


def placed(when: datetime) -> Event:
    """geo placing the request when it reads it (at import time)."""
    return geo_event(
        location_resolved(60.17, 24.94, "Mannerheimintie 1", public=public_place_at(60.17, 24.94)),
        request_id=NUMBER,
        occurred_at=when,
    )


def folded(events: list[Event]):
    return fold_many({}, events, {}).changed[NUMBER]


def update(when: datetime, *, agency: str | None, status: str = "open", note: str = "") -> Event:
    return backend(
        BackendUpdateReceived(
            body_id="streets",
            external_id="SR-7",
            update_id=f"u-{when.isoformat()}",
            backend_status=status,
            description=note,
            updated_at=when,
            agency_responsible=agency,
        ),
        when,
    )


def test_an_imported_request_carries_its_body_external_id_agency_and_flag():
    state = folded(import_events(flag="at or near 0,0: the point is not used"))
    assert state.imported_from == ExternalReference("streets", "SR-7")
    assert state.external_references == (ExternalReference("streets", "SR-7"),)
    assert (state.body_id, state.delivery) == ("streets", None)  # its body, and nothing to send it
    assert state.agency_responsible == "Rakennusvirasto"
    assert state.location_flag == "at or near 0,0: the point is not used"


def test_an_import_naming_no_agency_or_flag_leaves_them_empty():
    state = folded(import_events(agency=None))
    assert (state.agency_responsible, state.location_flag) == (None, None)


def test_the_import_applies_the_same_whether_it_is_in_the_batch_or_before_it():
    imported, *rest = import_events()
    in_batch = folded([imported, *rest])
    before = fold_many({}, rest, {NUMBER: [imported.payload]}).changed[NUMBER]
    assert (before.body_id, before.agency_responsible) == (in_batch.body_id, in_batch.agency_responsible)
    assert before.imported_from == in_batch.imported_from


def test_geo_placing_an_old_import_leaves_its_own_times():
    state = folded(import_events())
    for event in (
        placed(IMPORTED_AT),
        geo_event(address_not_found(0.3, "no such street"), request_id=NUMBER, occurred_at=IMPORTED_AT),
        placed(IMPORTED_AT + timedelta(seconds=1)),
        geo_event(
            duplicate_suspected(
                [duplicate_candidate("WXYZ-9876", distance_m=3, score=0.8, submitted_at=REQUESTED)]
            ),
            request_id=NUMBER,
            occurred_at=IMPORTED_AT,
        ),
    ):
        state = fold(state, event)
    assert state.submitted_at == state.updated_at == REQUESTED
    assert state.placement is not None and state.placement.resolved_at == IMPORTED_AT + timedelta(seconds=1)
    assert state.event_count == 6  # geo's four are still counted (with the submission and the reference)


def test_a_back_end_update_moves_updated_at_to_its_own_time_and_names_the_agency():
    later = REQUESTED + timedelta(days=3)
    state = folded([*import_events(), placed(IMPORTED_AT), update(later, agency="Kaupunkiympäristö")])
    assert (state.updated_at, state.agency_responsible) == (later, "Kaupunkiympäristö")


def test_an_update_naming_no_agency_keeps_the_one_known():
    later = REQUESTED + timedelta(days=3)
    state = folded([*import_events(), update(later, agency=None, note="still there")])
    assert (state.updated_at, state.agency_responsible) == (later, "Rakennusvirasto")


def test_a_closing_status_and_a_public_note_keep_the_back_ends_times():
    closed = REQUESTED + timedelta(days=10)
    note = closed + timedelta(days=1)
    state = folded(
        [
            *import_events(),
            backend(
                StatusChanged(
                    status=RequestStatus.closed, previous_status=RequestStatus.open, public_note="done"
                ),
                closed,
            ),
            placed(IMPORTED_AT),
            backend(CommentAdded(text="painted over", visibility="public"), note),
        ]
    )
    assert (state.status, state.closed_at, state.updated_at) == ("closed", closed, note)


def test_an_import_of_a_request_already_routed_keeps_its_routed_body():
    submitted = request_event(
        ServiceRequestSubmitted(service_code="graffiti", location=Location(lat=60.17, long=24.94)),
        request_id=NUMBER,
        actor=Actor(kind="resident"),
        source="web",
        occurred_at=REQUESTED,
    )
    routed = request_event(
        Routed(body_id="parks", team=None, priority="normal", analysis_codes=[], rules=[]),
        request_id=NUMBER,
        actor=Actor(kind="system", id="outbound"),
        source="outbound",
        occurred_at=REQUESTED,
    )
    state = folded([submitted, routed, import_events()[0]])
    assert (state.body_id, state.imported_from) == ("parks", ExternalReference("streets", "SR-7"))
    assert state.jurisdiction_id == J
