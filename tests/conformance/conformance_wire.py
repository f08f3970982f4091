"""The conformance rules on what a strict client reads: error documents, booleans, numbers, ids, request objects.

The reading itself (the wire rules every answer must satisfy, and the Spark tree of both formats) is
`civicloop_testing.open311_reading`, which the gateway's own read tests share.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from civicloop_open311.documents import REQUEST_FIELDS
from civicloop_places import DEFAULT_RESOLUTION, public_place
from civicloop_testing.open311_reading import read

# G-40: seconds precision and a zone, as the conformant reference server emits [ADAPTER Schema.pm rx/datetime]
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$")
# DESIGN §4: a served address with a number is a block ("2100 block of ..."), never a house number.
BLOCK_ADDRESS = re.compile(r"^(?:0|\d+00) block of \S")

REQUEST_DATETIMES = ("requested_datetime", "updated_datetime", "expected_datetime")
REQUEST_STRING_IDS = ("service_request_id", "service_code", "address_id", "zipcode")  # G-31


def errors_of(response: httpx.Response, fmt: str, status: int) -> list[dict[str, Any]]:
    """ER-01..ER-03: the status, and an Open311 error document in the requested format; returns the errors."""
    assert response.status_code == status, (
        f"HTTP {response.status_code}, expected {status}: {response.text[:500]}"
    )
    tree = read(response, fmt, root="errors")
    assert isinstance(tree, list) and tree, f"errors must be a non-empty list (G-30, ER-01): {tree!r}"
    for error in tree:
        assert isinstance(error, dict) and set(error) >= {"code", "description"}, (
            f"error without code/description: {error}"
        )
        assert error["description"], "an error description is meant to be seen by the user (ER-01)"
        if fmt == "json":
            assert isinstance(error["code"], (int, str)) and not isinstance(error["code"], bool)
        # ER-07 (documented choice): no code table is published, so `code` is the HTTP status.
        assert str(error["code"]) == str(status), f"error code {error['code']!r} with HTTP {status}"
    return tree


def error_text(errors: list[dict[str, Any]]) -> str:
    return " | ".join(str(e["description"]) for e in errors)


def boolean(value: Any, fmt: str) -> bool:
    """G-24 (XML `true`/`false`) and G-32 (JSON real booleans) strictly."""
    if fmt == "json":
        assert isinstance(value, bool), f"{value!r} is not a JSON boolean (G-32)"
        return value
    assert value in ("true", "false"), f"{value!r} is not the literal true/false (G-24)"
    return value == "true"


def number(value: Any, fmt: str) -> float | None:
    """G-33: a JSON number (never a string); in XML a decimal text. None for null / an empty element."""
    if value is None:
        return None
    if fmt == "json":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{value!r} is not a JSON number (G-33)"
        )
        return float(value)
    return float(value)


def string_id(value: Any, fmt: str) -> str:
    """G-31: identifiers are JSON strings."""
    if fmt == "json":
        assert isinstance(value, str), f"identifier {value!r} is not a JSON string (G-31)"
    assert value, "identifier is empty"
    return value


def requests_of(response: httpx.Response, fmt: str) -> list[dict[str, Any]]:
    """A `<service_requests>` answer (POST, tokens, list, single): a list of request objects (G-21, G-30)."""
    tree = read(response, fmt, root="service_requests")
    assert isinstance(tree, list), f"requests must be a top-level array (G-30), got {type(tree).__name__}"
    for item in tree:
        assert isinstance(item, dict), f"request item is not an object: {item!r}"
    return tree


def check_request_object(request: dict[str, Any], fmt: str, *, resolution: int = DEFAULT_RESOLUTION) -> None:
    """SR-20 all 17 fields; SR-02/ST-01 status; G-40 datetimes; G-31 string ids; G-33 numbers; SR-21 privacy;
    DESIGN §4: lat/long are an H3 cell's centre at the gateway's `resolution`, the address at most a block."""
    missing = [f for f in REQUEST_FIELDS if f not in request]
    assert not missing, f"request {request.get('service_request_id')} lacks {missing} (SR-20)"
    string_id(request["service_request_id"], fmt)
    string_id(request["service_code"], fmt)
    assert request["status"] in ("open", "closed"), f"status {request['status']!r} (SR-02, ST-01)"
    for name in ("requested_datetime", "updated_datetime"):
        assert request[name] is not None and W3C.match(request[name]), (
            f"{name} {request[name]!r} (G-40, SR-09/10)"
        )
    if request["expected_datetime"] is not None:
        assert W3C.match(request["expected_datetime"]), (
            f"expected_datetime {request['expected_datetime']!r} (G-40)"
        )
    for name in ("address_id", "zipcode"):
        if request[name] is not None and fmt == "json":
            assert isinstance(request[name], str), f"{name} {request[name]!r} must be a JSON string (G-31)"
    lat, long = number(request["lat"], fmt), number(request["long"], fmt)
    assert (lat is None) == (long is None), "lat and long come together"
    if lat is not None and long is not None:
        centre = public_place(lat, long, resolution=resolution)
        assert (centre.lat, centre.long) == (lat, long), (
            f"({lat}, {long}) is not an H3 cell centre (DESIGN §4)"
        )
    address = request["address"]
    if address is not None and address[:1].isdigit():
        assert BLOCK_ADDRESS.match(address), f"address {address!r} shows a house number (SR-12, DESIGN §4)"
    for personal in ("email", "phone", "first_name", "last_name", "device_id", "account_id"):
        assert personal not in request, f"public GET carries {personal} (SR-21)"
