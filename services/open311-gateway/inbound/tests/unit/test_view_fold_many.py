"""The request view's batch fold: folding N events at once gives the view that folding them one at a time gives."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_events import Actor, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    LocationMethod,
    LocationResolved,
    RequestStatus,
)
from civicloop_gateway.domain.request_view import (
    RequestRow,
    UpdateRow,
    fold,
    fold_many,
    named_services,
    requests_of,
)
from civicloop_places import public_place
from civicloop_testing.events import request_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CITY = "springfield.example.gov"
AGENT = Actor(kind=ActorKind.agent, id="agent-7")
NAMES = {(CITY, "POTHOLE"): "Pothole", (CITY, "GRAFFITI"): "Graffiti"}


def _event(payload, request_id: str | None, minutes: int):
    return request_event(
        payload,
        request_id=request_id,
        actor=AGENT,
        source="web",
        jurisdiction_id=CITY,
        occurred_at=T0 + timedelta(minutes=minutes),
    )


def _resolved(lat: float, long: float) -> LocationResolved:
    return LocationResolved(
        lat=lat,
        long=long,
        address="12 Elm St",
        method=LocationMethod.geocoded,
        provider="gazetteer",
        confidence=0.9,
        inside_jurisdiction=True,
        public=public_place(lat, long, "12 Elm St"),
    )


def _log():
    """Three requests' events interleaved as a partition holds them, with every kind the view folds and some it
    ignores (internal comments, events of requests it never saw, an event without a request)."""
    pothole = ServiceRequestSubmitted(
        service_code="POTHOLE", description="Deep hole", location=Location(lat=38.9, long=-77.0)
    )
    by_address = ServiceRequestSubmitted(
        service_code="GRAFFITI", description="Tags", location=Location(address_string="12 Elm St")
    )
    unnamed = ServiceRequestSubmitted(
        service_code="UNKNOWN", description="Odd", location=Location(lat=38.8, long=-77.1)
    )
    return [
        _event(pothole, "A-1", 0),
        _event(by_address, "B-2", 1),
        _event(StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), "A-1", 2),
        _event(CommentAdded(text="rude", visibility=CommentVisibility.internal), "A-1", 3),
        _event(_resolved(38.91, -77.01), "B-2", 4),
        _event(CommentAdded(text="Crew booked", visibility=CommentVisibility.public), "A-1", 5),
        _event(StatusChanged(status=RequestStatus.closed, public_note="Filled"), "A-1", 6),
        _event(CommentAdded(text="after close", visibility=CommentVisibility.public), "A-1", 7),
        _event(StatusChanged(status=RequestStatus.closed), "Z-9", 8),  # a request the view never saw
        _event(unnamed, "C-3", 9),
        _event(pothole, "B-2", 10),  # a second submission never resets a request
        _event(StatusChanged(status=RequestStatus.open), "A-1", 11),  # reopened
        _event(StatusChanged(status=RequestStatus.closed), None, 12),
        _event(_resolved(38.95, -77.05), "B-2", 13),
    ]


class Store:
    """The view as the adapter keeps it: rows replaced, an update stored once per id (the first stays)."""

    def __init__(self) -> None:
        self.requests: dict[str, RequestRow] = {}
        self.updates: dict[object, UpdateRow] = {}

    def apply_batch(self, events) -> None:
        before = {i: self.requests[i] for i in requests_of(events) if i in self.requests}
        names = {s: NAMES[s] for s in named_services(events) if s in NAMES}
        change = fold_many(before, events, service_names=names)
        self.requests |= change.requests
        for update in change.updates:
            self.updates.setdefault(update.update_id, update)


def _one_by_one(events) -> Store:
    """The reference: `fold` of each event on what the previous ones stored, as the one-event handler did."""
    store = Store()
    for event in events:
        if event.request_id is None:
            continue
        name = None
        if isinstance(event.payload, ServiceRequestSubmitted):
            name = NAMES.get((event.jurisdiction_id, event.payload.service_code))
        change = fold(store.requests.get(event.request_id), event, service_name=name)
        if change.request is not None:
            store.requests[event.request_id] = change.request
        if change.update is not None:
            store.updates.setdefault(change.update.update_id, change.update)
    return store


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 14])
def test_folding_the_log_in_batches_gives_the_view_folding_it_one_event_at_a_time(batch_size):
    log = _log()
    expected = _one_by_one(log)
    batched = Store()
    for start in range(0, len(log), batch_size):
        batched.apply_batch(log[start : start + batch_size])
    assert batched.requests == expected.requests
    assert list(batched.updates.values()) == list(expected.updates.values())
    # The log above exercises what it claims to: three requests, their updates, the unknown request's update.
    assert set(expected.requests) == {"A-1", "B-2", "C-3"}
    assert expected.requests["A-1"].status == "open" and expected.requests["C-3"].service_name is None
    assert len(expected.updates) == 6


def test_a_batch_writes_each_changed_request_once_with_its_last_row():
    log = _log()
    change = fold_many({}, log, service_names=NAMES)
    assert sorted(change.requests) == ["A-1", "B-2", "C-3"]
    assert change.requests["A-1"].last_event_id == log[11].event_id
    assert change.requests["B-2"].last_event_id == log[13].event_id


def test_an_event_replayed_within_a_batch_records_its_update_once():
    comment = _event(CommentAdded(text="Crew booked", visibility=CommentVisibility.public), "A-1", 1)
    change = fold_many({}, [comment, comment], service_names={})
    assert [u.update_id for u in change.updates] == [comment.event_id]


def test_a_batch_reads_each_service_and_request_once():
    log = _log()
    assert named_services(log) == [(CITY, "GRAFFITI"), (CITY, "POTHOLE"), (CITY, "UNKNOWN")]
    assert requests_of(log) == ["A-1", "B-2", "C-3", "Z-9"]
