"""The pure rules of hearing back and importing: statuses, categories, update ids, what came from us."""

from __future__ import annotations

from datetime import UTC, datetime

from civicloop_events.payloads import Open311Connection, RequestStatus
from civicloop_events.request_numbers import parse, producer_of
from civicloop_open311 import wire
from civicloop_outbound.domain import open311_mapping as mapping

CONNECTION = Open311Connection(
    endpoint="https://b.example/v2",
    id_field="civicloop_id",
    service_code_map={"POTHOLE": "RD-1"},
    status_map={"Crew_Assigned": "in_progress", "received": "acknowledged"},
)


def row(**fields) -> wire.RemoteRequest:
    record = {
        "service_request_id": "9",
        "status": "open",
        "requested_datetime": "2026-11-01T00:00:00Z",
        **fields,
    }
    result = wire.remote_request(record)
    assert result is not None
    return result


def test_statuses_map_by_code_then_status_then_defaults() -> None:
    assert mapping.map_status(CONNECTION, "open", "CREW_ASSIGNED") is RequestStatus.in_progress
    assert (
        mapping.map_status(CONNECTION, "Received") is RequestStatus.acknowledged
    )  # free text, case-insensitive
    assert mapping.map_status(CONNECTION, "CLOSED", "unmapped-code") is RequestStatus.closed
    assert mapping.map_status(CONNECTION, "investigating") is RequestStatus.acknowledged  # mySociety extended
    assert mapping.map_status(CONNECTION, "weird") is None


def test_categories_map_back_or_fall_back_or_are_skipped_with_a_reason() -> None:
    assert mapping.our_service_code("RD-1", CONNECTION, ["POTHOLE"], None) == ("POTHOLE", "service_code_map")
    assert mapping.our_service_code("TREE", CONNECTION, ["TREE"], None) == ("TREE", "same code")
    assert mapping.our_service_code("X", CONNECTION, [], "OTHER") == ("OTHER", "fallback")
    code, why = mapping.our_service_code("X", CONNECTION, [], None)
    assert code is None and "'X'" in why


def test_what_came_from_us() -> None:
    assert mapping.came_from_us(row(description="Hole\n\n[CivicLoop 7K3M-Q9ZT]"), CONNECTION)
    assert mapping.came_from_us(row(attributes={"civicloop_id": "7K3M-Q9ZT"}), CONNECTION)
    assert mapping.came_from_us(row(description="a [CivicLoop] mention by a resident"), CONNECTION) is None
    assert mapping.came_from_us(row(description="Hole"), CONNECTION) is None


def test_synthetic_update_ids_change_only_with_time_or_status() -> None:
    a = mapping.synthetic_update(row(updated_datetime="2026-11-02T10:00:00.000Z"))
    b = mapping.synthetic_update(row(updated_datetime="2026-11-02T05:00:00-05:00"))  # the same instant
    c = mapping.synthetic_update(row(updated_datetime="2026-11-02T10:00:00Z", status="closed"))
    assert a.update_id == b.update_id == "9|2026-11-02T10:00:00Z|open" and c.update_id != a.update_id
    assert mapping.synthetic_update(row()).updated_datetime == datetime(2026, 11, 1, tzinfo=UTC)


def test_import_numbers_are_stable_per_back_end_request_and_well_formed() -> None:
    n = mapping.import_number("j", "b", "9")
    assert n == mapping.import_number("j", "b", "9") == parse(n)
    assert n != mapping.import_number("j", "b", "10") and n != mapping.import_number("j", "other", "9")


def test_import_numbers_are_inside_the_importers_tag_and_each_attempt_is_another_number() -> None:
    numbers = [mapping.import_number("j", "b", "9", attempt) for attempt in range(4)]
    assert {producer_of(n) for n in numbers} == {"open311-import"}
    assert len(set(numbers)) == 4 and numbers[0] == mapping.import_number("j", "b", "9")
