"""POST servicerequestupdates (FX-10): reading the form, ST-02 statuses, the events an update makes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from civicloop_events import new_event_id
from civicloop_events.payloads import CommentAdded, CommentVisibility, RequestStatus, StatusChanged
from civicloop_gateway.domain.post_update import map_status, read_update, update_events
from civicloop_gateway.domain.submit_errors import BadRequest
from civicloop_open311.forms import OpenForm

BASE = [
    ("service_request_id", "ABCD-1234"),
    ("update_id", "248"),
    ("status", "FIXED"),
    ("updated_datetime", "2026-11-20T08:15:30-05:00"),
    ("description", "Fixed it <b>today</b>"),
]


def form(*extra: tuple[str, str], without: tuple[str, ...] = ()) -> OpenForm:
    return OpenForm.parse([p for p in BASE if p[0] not in without] + list(extra))


def test_fx10_reads_the_update() -> None:
    update = read_update(form(("media_url", "http://x/p.jpg")))
    assert update.service_request_id == "ABCD-1234" and update.partner_update_id == "248"
    assert update.status == "FIXED" and update.new_status is RequestStatus.closed
    assert update.updated_datetime == datetime(2026, 11, 20, 13, 15, 30, tzinfo=UTC)
    assert update.description == "Fixed it today"
    assert update.media_urls == ["http://x/p.jpg"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("OPEN", RequestStatus.open),
        ("REOPEN", RequestStatus.open),
        ("CLOSED", RequestStatus.closed),
        ("FIXED", RequestStatus.closed),
        ("IN_PROGRESS", RequestStatus.in_progress),
        ("INVESTIGATING", RequestStatus.acknowledged),
        ("ACTION_SCHEDULED", RequestStatus.in_progress),
        ("NOT_COUNCILS_RESPONSIBILITY", RequestStatus.closed),
        ("DUPLICATE", RequestStatus.closed),
        ("UNCHANGED", None),
        ("in_progress", RequestStatus.in_progress),
    ],
)
def test_st02_upper_case_statuses_map_to_civicloop(raw: str, expected: RequestStatus | None) -> None:
    """ST-02: POST uses the upper-case extended set; ST-04: lower case is read too."""
    assert map_status(raw)[1] is expected


def test_st02_unknown_status_is_400() -> None:
    with pytest.raises(BadRequest) as info:
        map_status("SOLVED-ISH")
    assert "SOLVED-ISH" in info.value.descriptions[0]


def test_fx10_missing_required_parameters_are_named() -> None:
    with pytest.raises(BadRequest) as info:
        read_update(form(without=("service_request_id", "status", "updated_datetime")))
    text = " ".join(info.value.descriptions)
    assert "service_request_id" in text and "status" in text and "updated_datetime" in text


def test_fx10_updated_datetime_must_be_w3c() -> None:
    with pytest.raises(BadRequest) as info:
        read_update(form(("updated_datetime", "yesterday"), without=("updated_datetime",)))
    assert "updated_datetime" in info.value.descriptions[0]


def test_fx10_update_id_is_optional() -> None:
    assert read_update(form(without=("update_id",))).partner_update_id is None


def test_fx10_comment_and_status_change_make_two_events() -> None:
    update = read_update(form(("external_status_code", "FX-9")))
    ids = (new_event_id(), new_event_id())
    events = update_events(
        update, jurisdiction_id="j", client_id="fms", current_status=RequestStatus.open, event_ids=ids
    )
    assert [type(e.payload) for e in events] == [CommentAdded, StatusChanged]
    comment, change = events
    assert comment.payload.visibility is CommentVisibility.public and comment.event_id == ids[0]
    assert (
        change.payload.status is RequestStatus.closed and change.payload.previous_status is RequestStatus.open
    )
    assert change.payload.external_status_code == "FX-9"
    assert all(
        e.source == "open311:fms" and e.actor.id == "fms" and e.request_id == "ABCD-1234" for e in events
    )
    assert all(e.occurred_at == update.updated_datetime for e in events)


@pytest.mark.parametrize("status", ["OPEN", "UNCHANGED"])  # the same status as now, or none said
def test_fx10_same_status_or_unchanged_publishes_only_the_comment(status: str) -> None:
    events = update_events(
        read_update(form(("status", status), without=("status",))),
        jurisdiction_id="j",
        client_id="fms",
        current_status=RequestStatus.open,
        event_ids=(new_event_id(), new_event_id()),
    )
    assert [type(e.payload) for e in events] == [CommentAdded]


def test_fx10_status_only_update_has_the_upper_case_status_as_external_code() -> None:
    update = read_update(form(without=("description",)))
    events = update_events(
        update,
        jurisdiction_id="j",
        client_id="fms",
        current_status=RequestStatus.open,
        event_ids=(new_event_id(), new_event_id()),
    )
    assert [type(e.payload) for e in events] == [StatusChanged]
    assert events[0].payload.external_status_code == "FIXED"


def test_fx10_media_without_description_is_400() -> None:
    with pytest.raises(BadRequest) as info:
        read_update(form(("media_url", "http://x/p.jpg"), without=("description",)))
    assert "description" in info.value.descriptions[0]
