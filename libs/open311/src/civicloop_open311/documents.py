"""The Open311 documents, built from plain rows into the neutral model (`render.py` writes them as XML or JSON).

Identifiers are passed as strings so JSON carries them as strings (G-31); every field of an object is emitted, empty
ones as None (SL-08, SD-12, SR-20).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from civicloop_open311.formats import Format
from civicloop_open311.render import (
    Document,
    Many,
    Record,
    json_list,
    json_value,
    number,
    xml_element,
    xml_escaped,
    xml_list,
)

GEOREPORT_V2 = "http://wiki.open311.org/GeoReport_v2"
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")

# §2.7, in the spec's order.
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _blank_is_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def service_record(row: Mapping[str, Any]) -> Record:
    """SL-01..SL-08: all seven fields on every service."""
    return {
        "service_code": str(row["service_code"]),
        "service_name": row["service_name"],
        "description": _blank_is_none(row["description"]),
        "metadata": bool(row["metadata"]),
        "type": row["type"],
        "keywords": _blank_is_none(row["keywords"]),
        "group": _blank_is_none(row["service_group"]),
    }


def services_document(rows: Iterable[Mapping[str, Any]]) -> Document:
    return Document("services", Many("service", [service_record(r) for r in rows]))


def attribute_orders(attributes: Sequence[Mapping[str, Any]]) -> list[int]:
    """SD-08: unique positive orders. Given orders stand when they already are; otherwise 1..n in their order."""
    given = [a.get("order") for a in attributes]
    if all(isinstance(o, int) and o > 0 for o in given) and len(set(given)) == len(given):
        return [int(o) for o in given]  # type: ignore[arg-type]
    ranked = sorted(range(len(attributes)), key=lambda i: (given[i] if isinstance(given[i], int) else 0, i))
    orders = [0] * len(attributes)
    for position, index in enumerate(ranked, start=1):
        orders[index] = position
    return orders


def attribute_record(attribute: Mapping[str, Any], order: int) -> Record:
    """SD-03..SD-10, SD-12: the eight scalar fields always, `values` for the list datatypes."""
    record: dict[str, Any] = {
        "variable": bool(attribute.get("variable", True)),
        "code": str(attribute["code"]),
        "datatype": attribute["datatype"],
        "required": bool(attribute.get("required", False)),
        "datatype_description": _blank_is_none(attribute.get("datatype_description")),
        "order": order,
        "description": _blank_is_none(attribute.get("description")),
    }
    if attribute["datatype"] in LIST_DATATYPES:
        record["values"] = Many(
            "value", [{"key": str(v["key"]), "name": v["name"]} for v in attribute.get("values") or ()]
        )
    return record


def service_definition_document(service_code: str, attributes: Sequence[Mapping[str, Any]]) -> Document:
    orders = attribute_orders(attributes)
    ranked = sorted(zip(orders, attributes, strict=True), key=lambda pair: pair[0])
    return Document(
        "service_definition",
        {
            "service_code": service_code,  # SD-01
            "attributes": Many("attribute", [attribute_record(a, o) for o, a in ranked]),  # SD-02
        },
    )


def _request(values: Sequence[Any]) -> dict[str, Any]:
    """The seventeen fields from their values in `REQUEST_FIELDS` order (more values may follow; they are ignored).

    Identifiers are text; any other blank text but the status is None; numbers come through `number()`; datetimes
    stay what they are (a datetime, or W3C text already). Written out field by field: it runs once per request
    listed.
    """
    (
        service_request_id,
        status,
        status_notes,
        service_name,
        service_code,
        description,
        agency_responsible,
        service_notice,
        requested_datetime,
        updated_datetime,
        expected_datetime,
        address,
        address_id,
        zipcode,
        lat,
        long,
        media_url,
    ) = values if len(values) == _REQUEST_WIDTH else values[:_REQUEST_WIDTH]
    return {
        "service_request_id": _text(service_request_id),
        "status": status,
        "status_notes": None if status_notes == "" else status_notes,
        "service_name": None if service_name == "" else service_name,
        "service_code": _text(service_code),
        "description": None if description == "" else description,
        "agency_responsible": None if agency_responsible == "" else agency_responsible,
        "service_notice": None if service_notice == "" else service_notice,
        "requested_datetime": None if requested_datetime == "" else requested_datetime,
        "updated_datetime": None if updated_datetime == "" else updated_datetime,
        "expected_datetime": None if expected_datetime == "" else expected_datetime,
        "address": None if address == "" else address,
        "address_id": _text(address_id),
        "zipcode": _text(zipcode),
        "lat": number(lat),
        "long": number(long),
        "media_url": None if media_url == "" else media_url,
    }


_REQUEST_WIDTH = len(REQUEST_FIELDS)


def request_record(
    row: Mapping[str, Any], *, extensions: bool = False, extended: Mapping[str, Any] | None = None
) -> Record:
    """SR-01..SR-17, all seventeen; `extended_attributes` only when `extensions=true` was asked for (CX-01)."""
    record = _request([row.get(name) for name in REQUEST_FIELDS])
    if extensions:
        record["extended_attributes"] = dict(extended or {})
    return record


def requests_document(records: Iterable[Record]) -> Document:
    """R1-01, RQ-06: always the `service_requests` container, one `request` per request, even for none or one."""
    return Document("service_requests", Many("request", list(records)))


def view_requests_document(
    rows: Iterable[Sequence[Any]], *, extended: Callable[[Sequence[Any]], Mapping[str, Any]] | None = None
) -> Document:
    """`requests_document` of request rows as the view gives them: values in `REQUEST_FIELDS` order, text as str,
    datetimes as W3C text, lat and long as floats; with `extended` (extensions=true, CX-01), each request's
    `extended_attributes` is what it makes of the whole row.

    Every float of such rows comes through `number()`, so the JSON is written without a walk over the values.
    """
    if extended is None:
        records = [_request(row) for row in rows]
    else:
        records = []
        for row in rows:
            record = _request(row)
            record["extended_attributes"] = dict(extended(row))
            records.append(record)
    return Document("service_requests", Many("request", records, numbers_checked=True))


# -- requests rendered ahead ----------------------------------------------------------------------------------
# A request's object can be written once, when its row changes, and a list assembled from those texts without
# writing a value again: `view_requests_document` rendered, byte for byte. The service name stays out of the stored
# text (a hole, `NAME_HOLE`, in its place), because renaming a service renames all its requests at once, in SQL.

# No rendering can hold it: JSON writes control characters escaped, XML drops them.
NAME_HOLE = "\x01"
_EMPTY_NAME_XML = "<service_name></service_name>"


@dataclass(frozen=True)
class RenderedRequest:
    """A request object in both formats, `NAME_HOLE` where the service name goes."""

    json: str
    xml: str


def rendered_request(values: Sequence[Any]) -> RenderedRequest:
    """The request object of `values` (a view row, as `view_requests_document` takes them), in both formats."""
    record = _request(values)
    record["service_name"] = orjson.Fragment(NAME_HOLE.encode())
    as_json = json_value(record).decode()
    record["service_name"] = None
    as_xml = xml_element("request", record).replace(
        _EMPTY_NAME_XML, f"<service_name>{NAME_HOLE}</service_name>", 1
    )
    return RenderedRequest(as_json, as_xml)


@lru_cache(maxsize=1024)
def _json_name(name: str | None) -> str:
    return orjson.dumps(name or None).decode()


@lru_cache(maxsize=1024)
def _xml_name(name: str | None) -> str:
    return xml_escaped(name) if name else ""


def rendered_requests_document(rows: Sequence[tuple[str, str | None]], fmt: Format) -> bytes:
    """The `service_requests` document of rendered requests (`(text in fmt, service name)` each, in order): what
    `render(view_requests_document(...), fmt)` writes for the same rows."""
    if fmt is Format.json:
        return json_list([text.replace(NAME_HOLE, _json_name(name)) for text, name in rows])
    return xml_list("service_requests", [text.replace(NAME_HOLE, _xml_name(name)) for text, name in rows])


def token_document(token: str, service_request_id: str | None) -> Document:
    """TK-01, TK-03: id and token once the request exists, the token alone while it is pending."""
    record: dict[str, Any] = {}
    if service_request_id is not None:
        record["service_request_id"] = service_request_id
    record["token"] = token
    return requests_document([record])


def update_record(row: Mapping[str, Any]) -> Record:
    """FX-01: every field, `update_id` unique and stable."""
    return {
        "update_id": str(row["update_id"]),
        "service_request_id": str(row["service_request_id"]),
        "status": row["status"],
        "updated_datetime": row["updated_datetime"],
        "description": row["description"] or "",
        "media_url": row["media_url"] or None,
        "external_status_code": _blank_is_none(row["external_status_code"]),
    }


def updates_document(rows: Iterable[Mapping[str, Any]]) -> Document:
    return Document("service_request_updates", Many("request_update", [update_record(r) for r in rows]))


def discovery_document(
    *,
    changeset: datetime,
    contact: str,
    key_service: str,
    url: str,
    endpoint_type: str,
    formats: Sequence[str],
    extensions: Sequence[str],
) -> Document:
    """DS-01..DS-06: every field; one GeoReport v2 endpoint listing both formats."""
    return Document(
        "discovery",
        {
            "changeset": changeset,
            "contact": contact,
            "key_service": key_service,
            "endpoints": Many(
                "endpoint",
                [
                    {
                        "specification": GEOREPORT_V2,
                        "url": url,
                        "changeset": changeset,
                        "type": endpoint_type,
                        "formats": Many("format", list(formats)),
                    }
                ],
            ),
            # Not a DS-03 field: the GeoReport v2 extensions this endpoint implements, by name (§5).
            "extensions": Many("extension", list(extensions)),
        },
    )
