"""Parsing what agents send: request numbers, bounding boxes, cursors, log positions; area geometries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from civicloop_events import Actor, Event, ServiceAreaDefined
from civicloop_events.request_numbers import InvalidRequestNumber
from civicloop_events.request_numbers import parse as canonical_request_number
from civicloop_projections.domain.catalogue import InvalidAreaGeometry, area_geometry
from civicloop_projections.domain.queries import Bbox, Cursor, InvalidQueryValue, LogPosition
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ABCD-1234", "ABCD-1234"),
        ("abcd-1234", "ABCD-1234"),
        ("abcd1234", "ABCD-1234"),
        (" ab cd-12 34 ", "ABCD-1234"),
        ("OIL0-0000", "0110-0000"),
    ],
)
def test_request_numbers_are_read_as_crockford_base32(typed, canonical):
    assert canonical_request_number(typed) == canonical


@pytest.mark.parametrize("bad", ["", "ABCD-123", "ABCD-12345", "ABCU-1234", "ABCD_1234", "ÄBCD-1234"])
def test_what_is_not_a_request_number_is_refused(bad):
    with pytest.raises(InvalidRequestNumber):
        canonical_request_number(bad)


def test_a_bbox_is_four_ordered_numbers_in_range():
    assert Bbox.parse("-118.3,34.0,-118.2,34.1") == Bbox(-118.3, 34.0, -118.2, 34.1)
    for bad in ("1,2,3", "1,2,3,4,5", "a,b,c,d", "-118.2,34,-118.3,35", "0,95,1,96", "-190,0,0,1", ""):
        with pytest.raises(InvalidQueryValue) as err:
            Bbox.parse(bad)
        assert err.value.parameter == "bbox"


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    number=st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ-", min_size=1, max_size=12),
)
def test_a_cursor_round_trips(moment, number):
    cursor = Cursor(moment, number)
    token = cursor.encode()
    assert Cursor.decode(token) == cursor
    assert "=" not in token and "/" not in token and "+" not in token


@pytest.mark.parametrize(
    "bad", ["", "garbage!", "bm90IGpzb24", "WyJub3QgYSB0aW1lIiwiQSJd", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwiQSJd"]
)
def test_a_cursor_the_api_did_not_make_is_refused(bad):
    with pytest.raises(InvalidQueryValue) as err:
        Cursor.decode(bad)
    assert err.value.parameter == "cursor"


def test_a_log_position_is_partition_colon_offset():
    assert LogPosition.parse("2:1041", parameter="after") == LogPosition(2, 1041)
    for bad in ("2", "2:", ":3", "a:b", "-1:3", "1:2:3"):
        with pytest.raises(InvalidQueryValue) as err:
            LogPosition.parse(bad, parameter="CivicLoop-Position")
        assert err.value.parameter == "CivicLoop-Position"


def area(geometry: dict) -> Event:
    return Event.create(
        ServiceAreaDefined(area_id="a", name="A", kind="ward", geometry=geometry),
        request_id=None,
        jurisdiction_id="demo",
        actor=Actor(kind="system"),
        source="admin",
    )


def test_only_polygons_can_be_service_areas():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert area_geometry(area(square)) == square
    for bad in ({"type": "Point", "coordinates": [0, 0]}, {"type": "Polygon", "coordinates": []}, {}):
        with pytest.raises(InvalidAreaGeometry):
            area_geometry(area(bad))
