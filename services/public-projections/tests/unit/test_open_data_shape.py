"""The open-data export's rows: Open311 names, open/closed, the cell's centre as the point, the data dictionary."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from civicloop_projections.domain import open_data

SUBMITTED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CLOSED = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)


def _row(**overrides):
    src = {
        "request_number": "CL-ABCD-1234",
        "jurisdiction_id": "demo",
        "status": "closed",
        "service_code": "pothole",
        "service_name": "Pothole",
        "submitted_at": SUBMITTED,
        "acknowledged_at": None,
        "closed_at": CLOSED,
        "close_reason": "fixed",
        "public_note": "Filled, Main St",
        "block_address": "1200 block of Main St",
        "cell_lat": 39.29,
        "cell_long": -76.61,
        "h3_cell": "892a1008003ffff",
        "h3_resolution": 9,
        "service_areas": ["District 3", "Ward 12"],
    }
    src.update(overrides)
    return tuple(src[c] for c in open_data.SOURCE_COLUMNS)


def test_a_closed_request_reads_in_open311_names():
    rec = open_data.record(_row())
    assert list(rec) == list(open_data.NAMES)
    assert rec["service_request_id"] == "CL-ABCD-1234"
    assert (rec["status"], rec["status_detail"]) == ("closed", "closed")
    assert rec["requested_datetime"] == "2026-11-02T09:30:00Z"
    assert rec["updated_datetime"] == "2026-11-04T16:00:00Z"
    assert (rec["lat"], rec["long"]) == (39.29, -76.61)


def test_every_status_but_closed_is_open_in_open311():
    rec = open_data.record(_row(status="on_hold", closed_at=None, close_reason=None))
    assert (rec["status"], rec["status_detail"]) == ("open", "on_hold")
    assert rec["updated_datetime"] == rec["requested_datetime"]


def test_csv_cells_leave_none_empty_and_join_areas():
    rec = open_data.record(_row(service_name=None, service_areas=None, close_reason=None))
    cells = dict(zip(open_data.NAMES, open_data.csv_cells(rec), strict=True))
    assert cells["service_name"] == "" and cells["service_areas"] == "" and cells["h3_resolution"] == "9"
    both = dict(zip(open_data.NAMES, open_data.csv_cells(open_data.record(_row())), strict=True))
    assert both["service_areas"] == "District 3; Ward 12"


def test_a_feature_is_a_point_at_the_cell_centre_in_long_lat_order():
    feature = json.loads(open_data.geojson_feature(open_data.record(_row())))
    assert feature["geometry"] == {"type": "Point", "coordinates": [-76.61, 39.29]}
    assert feature["id"] == "CL-ABCD-1234"
    assert "lat" not in feature["properties"] and feature["properties"]["address"] == "1200 block of Main St"


def test_a_request_without_a_place_has_a_null_geometry():
    feature = json.loads(open_data.geojson_feature(open_data.record(_row(cell_lat=None, cell_long=None))))
    assert feature["geometry"] is None


def test_the_dictionary_names_every_field_once_in_both_forms():
    listed = [f["name"] for f in json.loads(open_data.dictionary_json())["fields"]]
    assert listed == list(open_data.NAMES) and len(set(listed)) == len(listed)
    rows = list(csv.DictReader(io.StringIO(open_data.dictionary_csv())))
    assert [r["name"] for r in rows] == listed
    assert {r["name"] for r in rows if r["open311"] == "yes"} >= {
        "service_request_id",
        "lat",
        "long",
        "address",
    }
