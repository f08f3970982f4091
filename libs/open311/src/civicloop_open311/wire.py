"""Reading and writing Open311 on the client side: strict in what is sent, tolerant in what is read.

Sending (CHECKLIST §10.2, §10.3): a form-encoded UTF-8 body with `jurisdiction_id` and `api_key`, coordinates with
at most six decimals and no trailing zeros, multivaluelist values either as `attribute[c][]` (spec) or as a
repeated `attribute[c]` (FixMyStreet), a description cut to 4000 characters.

Reading (§10.5, pitfalls #1-#5, #13, #17, #18; G-12, G-23, G-31..G-34, G-42): XML parsed without DTDs or entities,
with the repeated tags of pitfall #2 always lists and empty elements read as null; JSON with an object-wrapped root
unwrapped; ids as strings whatever their JSON type; booleans and coordinates given as strings; lenient dates; and the
body sniffed when the Content-Type header does not say what it is.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from civicloop_open311.dates import InvalidDate, parse_w3c

MAX_DESCRIPTION = 4000
# Pitfall #2: the tags a generic converter turns into a scalar when there is only one of them.
FORCE_LIST = frozenset(
    {"service", "request", "attribute", "value", "error", "endpoint", "format", "request_update"}
)
# The Spark containers of the Open311 responses (G-21), unwrapped when a JSON root is an object (G-34).
CONTAINERS = (
    "service_requests",
    "service_request_updates",
    "service_requests_updates",
    "services",
    "errors",
    "requests",
    "request_updates",
    "updates",
)
RECORD_TAGS = ("request", "request_update", "service", "error")
ID_FIELDS = frozenset(
    {
        "service_request_id",
        "update_id",
        "token",
        "service_code",
        "account_id",
        "address_id",
        "zipcode",
        "external_status_code",
        "code",
    }
)


class UnreadableDocument(ValueError):
    """A body that is neither XML nor JSON, or is malformed, or tries entity tricks."""


# -- sending ------------------------------------------------------------------------------------------------------


def format_coordinate(value: float) -> str:
    """At most six decimals, trailing zeros stripped, `.` as separator whatever the locale (§10.3)."""
    if not math.isfinite(value):
        raise ValueError("a coordinate must be a finite number")
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def civicloop_marker(request_number: str) -> str:
    """The line appended to a description sent out, by which an import recognises a request that came from us."""
    return f"[CivicLoop {request_number}]"


# What `civicloop_marker` writes, found again: a request number (Crockford base32) in brackets.
CIVICLOOP_MARKER = re.compile(r"\[CivicLoop [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\]")


def clip_description(description: str, marker: str | None) -> str:
    """The description with the marker on its own last line, the whole ≤ 4000 characters (PR-06)."""
    text = description.strip()
    if not marker:
        return text[:MAX_DESCRIPTION]
    room = MAX_DESCRIPTION - len(marker) - 2
    text = text[:room].rstrip() if len(text) > room else text
    return f"{text}\n\n{marker}" if text else marker


@dataclass(frozen=True)
class OutgoingRequest:
    """What one POST requests carries, in our terms before the connection's mapping."""

    service_code: str
    description: str = ""
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    media_url: str | None = None
    request_number: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


def request_form(
    outgoing: OutgoingRequest,
    *,
    jurisdiction_id: str | None,
    api_key: str | None,
    multivaluelist_style: str = "brackets",
    id_field: str | None = None,
    extra_attributes: Mapping[str, str] | None = None,
    multi_valued: Iterable[str] = (),
    mark_description: bool = True,
) -> list[tuple[str, str]]:
    """The form fields of POST requests, in a stable order (repeated names kept).

    An attribute with more than one value, or named in `multi_valued`, is a multivaluelist: `attribute[c][]=v` per
    value in the `brackets` style, `attribute[c]=v` repeated in the `repeat` style. Empty values are left out
    (G-50: `x=` means absent).
    """
    if multivaluelist_style not in ("brackets", "repeat"):
        raise ValueError(f"unknown multivaluelist style {multivaluelist_style!r}")
    pairs: list[tuple[str, str]] = []

    def put(name: str, value: str | None) -> None:
        if value is not None and str(value) != "":
            pairs.append((name, str(value)))

    put("api_key", api_key)
    put("jurisdiction_id", jurisdiction_id)
    put("service_code", outgoing.service_code)
    if outgoing.lat is not None and outgoing.long is not None:
        put("lat", format_coordinate(outgoing.lat))
        put("long", format_coordinate(outgoing.long))
    put("address_string", outgoing.address_string)
    put("address_id", outgoing.address_id)
    for name in ("email", "first_name", "last_name", "phone"):
        put(name, getattr(outgoing, name))
    marker = (
        civicloop_marker(outgoing.request_number) if (mark_description and outgoing.request_number) else None
    )
    put("description", clip_description(outgoing.description, marker))
    put("media_url", outgoing.media_url)

    multi = set(multi_valued)
    attributes: dict[str, list[str]] = {
        code: [v for v in values if v != ""] for code, values in outgoing.attributes.items()
    }
    for code, value in (extra_attributes or {}).items():
        attributes.setdefault(code, [value])
    if id_field and outgoing.request_number:
        attributes[id_field] = [outgoing.request_number]
    for code, values in attributes.items():
        if not values:
            continue
        if len(values) > 1 or code in multi:
            name = f"attribute[{code}][]" if multivaluelist_style == "brackets" else f"attribute[{code}]"
            for v in values:
                put(name, v)
        else:
            put(f"attribute[{code}]", values[0])
    return pairs


# -- reading: documents -------------------------------------------------------------------------------------------


def sniff_format(body: bytes, content_type: str | None) -> str:
    """'xml' or 'json', from the body first (headers lie, G-12), then from the header."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return "xml"
    if head in (b"[", b"{"):
        return "json"
    media = (content_type or "").split(";")[0].strip().lower()
    if media.endswith(("/xml", "+xml")):
        return "xml"
    if media.endswith(("/json", "+json")):
        return "json"
    raise UnreadableDocument(f"neither XML nor JSON (Content-Type {content_type!r})")


def _xml_value(element: Any) -> Any:
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return text or None  # G-23: an empty element is null
    out: dict[str, Any] = {}
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]  # a default namespace (G-20) is ignored
        value = _xml_value(child)
        if tag in FORCE_LIST:
            out.setdefault(tag, []).append(value)
        elif tag in out:
            existing = out[tag]
            out[tag] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            out[tag] = value
    return out


def parse_xml(body: bytes) -> tuple[str, Any]:
    """(root tag, value); DTDs and entities are refused, so no expansion bomb or external fetch can happen."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnreadableDocument(f"XML refused: {exc}") from exc
    except SafeET.ParseError as exc:
        raise UnreadableDocument(f"malformed XML: {exc}") from exc
    tag = root.tag.rsplit("}", 1)[-1]
    value = _xml_value(root)
    if tag in FORCE_LIST:  # a bare <error> or <request> without its container (pitfall #17)
        return tag, {tag: [value]}
    return tag, value


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableDocument(f"malformed JSON: {exc}") from exc


def parse_document(body: bytes, content_type: str | None = None) -> Any:
    fmt = sniff_format(body, content_type)
    return parse_xml(body)[1] if fmt == "xml" else parse_json(body)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def records(body: bytes, content_type: str | None = None) -> list[dict[str, Any]]:
    """The list of record objects of any Open311 list response (requests, updates, services, errors).

    Accepts the Spark array, an XML container (any root name, FX-03), a root object wrapping the array (G-34), an
    object wrapping a container wrapping a record (Mark-a-Spot), a bare record, and an empty document.
    """
    if not body.strip():
        return []
    return records_of(parse_document(body, content_type))


def records_of(value: Any) -> list[dict[str, Any]]:
    for _ in range(4):
        if value is None:
            return []
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
        if not isinstance(value, dict):
            return []
        for tag in RECORD_TAGS:  # an XML container, or JSON that kept the XML child name
            if tag in value and len(value) == 1:
                return [v for v in _as_list(value[tag]) if isinstance(v, dict)]
        if len(value) == 1:
            (only,) = value.values()
            if isinstance(only, (list, dict)) or only is None:
                key = next(iter(value))
                if (
                    key in CONTAINERS
                    or isinstance(only, list)
                    or (isinstance(only, dict) and key not in ID_FIELDS)
                ):
                    value = only
                    continue
        return [value]  # a bare record
    return []


# -- reading: values ----------------------------------------------------------------------------------------------


def as_id(value: Any) -> str | None:
    """An identifier as a string (G-31): numbers are accepted, and `null`/empty means none."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def as_bool(value: Any) -> bool | None:
    """JSON booleans, and `"true"`/`"false"` in any case (G-32, pitfall #5)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = as_text(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def as_float(value: Any) -> float | None:
    """A JSON number or a numeric string (G-33); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = as_text(value)
    if text is None:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_datetime(value: Any) -> datetime | None:
    """A lenient W3C date (G-42): fractional seconds, `.000Z`, `-05`, `2011-02-03 14:18`; UTC when zoneless."""
    text = as_text(value)
    if text is None:
        return None
    try:
        return parse_w3c(text).start.astimezone(UTC)
    except (InvalidDate, ValueError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def as_media_url(value: Any) -> str | None:
    """`media_url` as one URL: a string, the first of an array of strings, or of objects with `url` (SR-23)."""
    for item in _as_list(value):
        url = as_text(item.get("url")) if isinstance(item, dict) else as_text(item)
        if url:
            return url
    return None


def _first(record: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def attributes_of(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """Attributes a server echoes (open311-adapter `attributes`/`extras`), as code -> values."""
    out: dict[str, list[str]] = {}
    for key in ("attributes", "attribute", "extras"):
        raw = record.get(key)
        if isinstance(raw, dict):
            for code, v in raw.items():
                if isinstance(v, list):
                    out[code] = [t for t in (as_text(x) for x in v) if t]
                elif isinstance(v, dict):
                    continue
                elif as_text(v):
                    out[code] = [as_text(v)]  # type: ignore[list-item]
        elif isinstance(raw, list):
            for item in raw:
                if isinstance(item, dict):
                    code = as_text(item.get("code") or item.get("name"))
                    if code:
                        out.setdefault(code, []).extend(
                            t for t in (as_text(x) for x in _as_list(item.get("value"))) if t
                        )
    return out


# -- reading: typed records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostAnswer:
    """The answer to POST requests or GET tokens/{t} (PR-09, TK-01)."""

    service_request_id: str | None
    token: str | None
    service_notice: str | None = None


@dataclass(frozen=True)
class RemoteRequest:
    """A request object of GET requests (§2.7)."""

    service_request_id: str
    status: str
    service_code: str | None
    service_name: str | None
    description: str
    status_notes: str | None
    requested_datetime: datetime | None
    updated_datetime: datetime | None
    lat: float | None
    long: float | None
    address: str | None
    address_id: str | None
    media_url: str | None
    attributes: dict[str, list[str]]
    external_status_code: str | None = None
    agency_responsible: str | None = None


@dataclass(frozen=True)
class RemoteUpdate:
    """A `request_update` of GET servicerequestupdates (FX-01)."""

    update_id: str
    service_request_id: str
    status: str
    updated_datetime: datetime
    description: str
    media_url: str | None
    external_status_code: str | None
    agency_responsible: str | None = None  # not in the standard's updates, but some back-ends send it


def post_answer(record: Mapping[str, Any]) -> PostAnswer:
    return PostAnswer(
        service_request_id=as_id(record.get("service_request_id")),
        token=as_id(record.get("token")),
        service_notice=as_text(record.get("service_notice")),
    )


def post_answers(body: bytes, content_type: str | None = None) -> PostAnswer:
    """The first request of a POST or token answer; an empty list is a blackbox answer (neither id nor token)."""
    found = records(body, content_type)
    return post_answer(found[0]) if found else PostAnswer(None, None)


def remote_request(record: Mapping[str, Any]) -> RemoteRequest | None:
    """None for a row without an id (Chicago lists token-only rows while processing, TK-03)."""
    sr_id = as_id(_first(record, "service_request_id", "sevicerequest_id"))
    if sr_id is None:
        return None
    lat, long = as_float(record.get("lat")), as_float(record.get("long", record.get("lng")))
    return RemoteRequest(
        service_request_id=sr_id,
        status=(as_text(record.get("status")) or "open").lower(),
        service_code=as_id(record.get("service_code")),
        service_name=as_text(record.get("service_name")),
        description=as_text(record.get("description")) or "",
        status_notes=as_text(_first(record, "status_notes", "status_note")),
        requested_datetime=as_datetime(record.get("requested_datetime")),
        updated_datetime=as_datetime(record.get("updated_datetime")),
        lat=lat if lat is not None and long is not None else None,
        long=long if lat is not None and long is not None else None,
        address=as_text(_first(record, "address", "address_string")),
        address_id=as_id(_first(record, "address_id", "adress_id")),
        media_url=as_media_url(record.get("media_url")),
        attributes=attributes_of(record),
        external_status_code=as_id(record.get("external_status_code")),
        agency_responsible=as_text(record.get("agency_responsible")),
    )


def remote_requests(body: bytes, content_type: str | None = None) -> list[RemoteRequest]:
    return [r for r in (remote_request(x) for x in records(body, content_type)) if r is not None]


def remote_update(record: Mapping[str, Any]) -> RemoteUpdate | None:
    """None for an update without `update_id` (FMS skips those) or without a request or a date."""
    update_id, sr_id = as_id(record.get("update_id")), as_id(record.get("service_request_id"))
    updated = as_datetime(record.get("updated_datetime"))
    if update_id is None or sr_id is None or updated is None:
        return None
    return RemoteUpdate(
        update_id=update_id,
        service_request_id=sr_id,
        status=(as_text(record.get("status")) or "").lower(),
        updated_datetime=updated,
        description=as_text(record.get("description")) or "",
        media_url=as_media_url(record.get("media_url")),
        external_status_code=as_id(record.get("external_status_code")),
        agency_responsible=as_text(record.get("agency_responsible")),
    )


def remote_updates(body: bytes, content_type: str | None = None) -> list[RemoteUpdate]:
    return [u for u in (remote_update(x) for x in records(body, content_type)) if u is not None]


@dataclass(frozen=True)
class RemoteError:
    code: str | None
    description: str


def remote_errors(body: bytes, content_type: str | None = None) -> list[RemoteError]:
    """`<errors>`, a bare `<error>`, JSON without `code`, `message` for `description` (pitfall #17); never raises."""
    try:
        found = records(body, content_type)
    except UnreadableDocument:
        return []
    out = []
    for record in found:
        text = as_text(_first(record, "description", "message", "error"))
        if text or record.get("code") is not None:
            out.append(RemoteError(as_id(record.get("code")), text or ""))
    return out


# -- discovery (§3, §10.1) ----------------------------------------------------------------------------------------

GEOREPORT_V2 = "http://wiki.open311.org/GeoReport_v2"


@dataclass(frozen=True)
class DiscoveredEndpoint:
    url: str
    specification: str
    type: str
    formats: tuple[str, ...]
    changeset: datetime | None


def discovery_endpoints(body: bytes, content_type: str | None = None) -> list[DiscoveredEndpoint]:
    """The endpoints of a discovery document; `formats` as Spark (`["text/xml"]`) or Parker
    (`{"format": "text/xml"}`) JSON or XML (pitfall #2)."""
    doc = parse_document(body, content_type)
    if isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], dict):
        doc = doc[0]
    if not isinstance(doc, dict):
        return []
    if "discovery" in doc and isinstance(doc["discovery"], dict):
        doc = doc["discovery"]  # G-34: a root wrapped in an object
    raw = doc.get("endpoints")
    if isinstance(raw, dict):
        raw = raw.get("endpoint")
    out = []
    for e in _as_list(raw):
        if not isinstance(e, dict) or not as_text(e.get("url")):
            continue
        formats = e.get("formats")
        if isinstance(formats, dict):
            formats = formats.get("format")
        out.append(
            DiscoveredEndpoint(
                url=as_text(e.get("url")) or "",
                specification=as_text(e.get("specification")) or "",
                type=(as_text(e.get("type")) or "").lower(),
                formats=tuple(t.lower() for t in (as_text(f) for f in _as_list(formats)) if t),
                changeset=as_datetime(e.get("changeset") or doc.get("changeset")),
            )
        )
    return out


def choose_endpoint(
    endpoints: Sequence[DiscoveredEndpoint], *, kind: str = "production"
) -> tuple[DiscoveredEndpoint, str] | None:
    """The GeoReport v2 endpoint of `kind` (production unless told) and its format: JSON when listed, else XML."""
    candidates = [e for e in endpoints if e.specification.rstrip("/") == GEOREPORT_V2 and e.type == kind]
    if not candidates:
        return None
    best = candidates[0]
    return best, "json" if "application/json" in best.formats else "xml"
