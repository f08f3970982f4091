"""The pure rules of hearing back and importing: statuses, categories, update ids, what came from us."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
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


def test_categories_map_many_to_one_first_then_back_then_same_then_the_bodys_fallback_then_the_process() -> (
    None
):
    connection = Open311Connection(
        endpoint="https://b.example/v2",
        service_code_map={"GRAFFITI": "VAND", "POTHOLE": "RD-1", "SINKHOLE": "RD-1"},
        import_service_code_map={"VANDALISM": "GRAFFITI", "GRAF": "GRAFFITI", "RD-1": "POTHOLE"},
        import_fallback_service_code="OTHER",
    )
    codes = ["GRAFFITI", "POTHOLE", "SINKHOLE", "TREE"]
    assert mapping.our_service_code("VANDALISM", connection, codes, None) == (
        "GRAFFITI",
        "import_service_code_map",
    )
    assert mapping.our_service_code("GRAF", connection, codes, None) == (
        "GRAFFITI",
        "import_service_code_map",
    )
    assert mapping.our_service_code("VAND", connection, codes, None) == ("GRAFFITI", "service_code_map")
    assert mapping.our_service_code("RD-1", connection, codes, None) == ("POTHOLE", "import_service_code_map")
    assert mapping.our_service_code("TREE", connection, codes, "PROCESS") == ("TREE", "same code")
    assert mapping.our_service_code("X", connection, codes, "PROCESS") == ("OTHER", "the body's fallback")
    assert mapping.our_service_code(None, connection, codes, "PROCESS") == ("OTHER", "the body's fallback")


def test_two_of_ours_mapped_to_one_of_theirs_do_not_choose_on_the_way_back() -> None:
    connection = Open311Connection(
        endpoint="https://b.example/v2", service_code_map={"POTHOLE": "RD-1", "SINKHOLE": "RD-1"}
    )
    code, why = mapping.our_service_code("RD-1", connection, ["POTHOLE", "SINKHOLE"], None)
    assert code is None and "POTHOLE, SINKHOLE" in why
    assert mapping.our_service_code("RD-1", connection, [], "OTHER") == (
        "OTHER",
        "fallback (service_code_map maps POTHOLE, SINKHOLE to it)",
    )


def test_excluded_categories_are_the_back_ends_codes() -> None:
    connection = Open311Connection(endpoint="https://b.example/v2", import_exclude_service_codes=["INTERNAL"])
    assert mapping.excluded("INTERNAL", connection) == "service_code INTERNAL is excluded"
    assert mapping.excluded("internal", connection) is None and mapping.excluded(None, connection) is None


HELSINKI = (24.78, 60.11, 25.26, 60.30)


@pytest.mark.parametrize(
    ("lat", "long", "bbox", "flag"),
    [
        (0.0, 0.0, None, "the point is at or near 0,0"),
        (0.0, 0.034, None, "the point is at or near 0,0"),  # Helsinki's feed: 3.8 km from 0,0
        (0.034, 0.0, None, "the point is at or near 0,0"),
        (-0.05, 0.05, None, "the point is at or near 0,0"),
        (0.0, 0.2, None, None),  # 22 km away: not near enough to call a placeholder without an area
        (0.0, 0.2, HELSINKI, "the point is outside the body's area"),
        (51.4779, 0.0, None, None),  # Greenwich: a zero longitude alone is a real place
        (60.1699, 24.9384, HELSINKI, None),
        (60.1699, 24.9384, (-118.7, 33.7, -118.1, 34.4), "the point is outside the body's area"),
        (91.0, 24.9, None, "the point is not a WGS84 point"),
    ],
)
def test_implausible_points_are_flagged(lat, long, bbox, flag) -> None:
    assert mapping.point_flag(lat, long, bbox) == flag


def test_a_flagged_point_is_dropped_the_address_kept_and_without_one_nothing_is_left() -> None:
    connection = Open311Connection(endpoint="https://b.example/v2", area_bbox=HELSINKI)
    location, flag = mapping.imported_location(
        row(lat="0.0", long="0.034", address="Mannerheimintie 1"), connection
    )
    assert flag == "the point is at or near 0,0"
    assert location is not None and not location.has_point and location.address_string == "Mannerheimintie 1"
    assert mapping.imported_location(row(lat="0.0", long="0.034"), connection) == (None, flag)
    location, flag = mapping.imported_location(
        row(lat="60.1699", long="24.9384", address="Aleksi 1"), connection
    )
    assert flag is None and (location.lat, location.long, location.address_string) == (
        60.1699,
        24.9384,
        "Aleksi 1",
    )
    assert mapping.imported_location(row(), connection) == (None, None)


def test_a_note_is_new_when_it_says_something_and_not_what_was_last_said() -> None:
    assert mapping.new_note("  Crew on site  ", None) == "Crew on site"
    assert mapping.new_note("Crew on site", "Crew on site ") is None
    assert mapping.new_note("   ", "old") is None
    assert mapping.new_note("Parts ordered", "Crew on site") == "Parts ordered"


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
    assert (
        mapping.synthetic_update(row(agency_responsible="Street Services")).agency_responsible
        == "Street Services"
    )


def test_import_numbers_are_stable_per_back_end_request_and_well_formed() -> None:
    n = mapping.import_number("j", "b", "9")
    assert n == mapping.import_number("j", "b", "9") == parse(n)
    assert n != mapping.import_number("j", "b", "10") and n != mapping.import_number("j", "other", "9")


def test_import_numbers_are_inside_the_importers_tag_and_each_attempt_is_another_number() -> None:
    numbers = [mapping.import_number("j", "b", "9", attempt) for attempt in range(4)]
    assert {producer_of(n) for n in numbers} == {"open311-import"}
    assert len(set(numbers)) == 4 and numbers[0] == mapping.import_number("j", "b", "9")
