"""The open-data export's shape: its fields (the published data dictionary) and how one public row becomes a CSV
row and a GeoJSON feature. Pure: the adapter (`adapters/open_data_export.py`) reads the rows and writes the files.

Every field comes from the public read model (`projections.public_requests`, which never receives personal data)
or the public service catalogue (the service's name). Open311 GeoReport v2 names are used where one exists.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string, integer, number, datetime (ISO 8601, UTC), string list
    open311: bool  # the Open311 GeoReport v2 field of the same name
    description: str


FIELDS: tuple[Field, ...] = (
    Field("service_request_id", "string", True, "the request's number, as residents and Open311 know it"),
    Field("jurisdiction_id", "string", True, "the jurisdiction the request was filed with"),
    Field("status", "string", True, "open or closed (Open311's two statuses)"),
    Field(
        "status_detail",
        "string",
        False,
        "CivicLoop's status: open, acknowledged, in_progress, on_hold or closed",
    ),
    Field("service_code", "string", True, "the category's code in the jurisdiction's catalogue"),
    Field("service_name", "string", True, "the category's name in the catalogue (empty if never defined)"),
    Field("requested_datetime", "datetime", True, "when the request was submitted"),
    Field(
        "updated_datetime",
        "datetime",
        True,
        "the latest of requested, acknowledged and closed: the last change this export records",
    ),
    Field("acknowledged_datetime", "datetime", False, "the first status change away from open"),
    Field("closed_datetime", "datetime", False, "the latest close; empty when open or reopened"),
    Field(
        "close_reason", "string", False, "the close's reason code (never free text); empty when not closed"
    ),
    Field(
        "status_notes",
        "string",
        True,
        "the latest public note, scrubbed of phone numbers, emails and house numbers",
    ),
    Field(
        "address", "string", True, "the block-level address (house numbers removed or rounded to the block)"
    ),
    Field("lat", "number", True, "latitude of the centre of the request's H3 cell, never the reported point"),
    Field(
        "long", "number", True, "longitude of the centre of the request's H3 cell, never the reported point"
    ),
    Field("h3_cell", "string", False, "the H3 cell holding the request (the generalised place)"),
    Field("h3_resolution", "integer", False, "the H3 cell's resolution"),
    Field("service_areas", "string list", False, "the service areas the request is in (CSV: joined by '; ')"),
)
NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)

# What the reader gives per row: the public read model's columns (and the catalogue's service name).
SOURCE_COLUMNS = (
    "request_number",
    "jurisdiction_id",
    "status",
    "service_code",
    "service_name",
    "submitted_at",
    "acknowledged_at",
    "closed_at",
    "close_reason",
    "public_note",
    "block_address",
    "cell_lat",
    "cell_long",
    "h3_cell",
    "h3_resolution",
    "service_areas",
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def record(row: Sequence[Any]) -> dict[str, Any]:
    """One public row (in `SOURCE_COLUMNS` order) as the export's fields, by name, in `FIELDS` order."""
    (number, jurisdiction, status, code, name, submitted, acknowledged, closed) = row[:8]
    (reason, note, address, lat, long, cell, resolution, areas) = row[8:]
    updated = max(t for t in (submitted, acknowledged, closed) if t is not None) if submitted else None
    return {
        "service_request_id": number,
        "jurisdiction_id": jurisdiction,
        "status": "closed" if status == "closed" else "open",
        "status_detail": status,
        "service_code": code,
        "service_name": name,
        "requested_datetime": _time(submitted),
        "updated_datetime": _time(updated),
        "acknowledged_datetime": _time(acknowledged),
        "closed_datetime": _time(closed),
        "close_reason": reason,
        "status_notes": note,
        "address": address,
        "lat": lat,
        "long": long,
        "h3_cell": cell,
        "h3_resolution": resolution,
        "service_areas": list(areas) if areas is not None else None,
    }


def csv_cells(rec: Mapping[str, Any]) -> list[str]:
    """The record as CSV cells: empty for none, lists joined by '; ', numbers as Python prints them."""
    return [
        "" if value is None else "; ".join(value) if isinstance(value, list) else str(value)
        for value in (rec[name] for name in NAMES)
    ]


# One encoder for every feature: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def geojson_feature(rec: Mapping[str, Any]) -> str:
    """The record as one GeoJSON Feature (RFC 7946): a Point at the cell's centre (null without a place), every
    other field a property."""
    properties = dict(rec)
    lat, long = properties.pop("lat"), properties.pop("long")
    geometry = None if lat is None or long is None else {"type": "Point", "coordinates": [long, lat]}
    return _ENCODER.encode(
        {"type": "Feature", "id": rec["service_request_id"], "geometry": geometry, "properties": properties}
    )


GEOJSON_HEAD = '{"type":"FeatureCollection","features":[\n'
GEOJSON_TAIL = "\n]}\n"


def dictionary_json() -> str:
    """The data dictionary, machine-readable: every field's name, type, whether Open311 defines it, meaning."""
    return json.dumps({"fields": [asdict(f) for f in FIELDS]}, indent=2, ensure_ascii=False) + "\n"


def dictionary_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "type", "open311", "description"])
    for f in FIELDS:
        writer.writerow([f.name, f.type, "yes" if f.open311 else "no", f.description])
    return out.getvalue()
