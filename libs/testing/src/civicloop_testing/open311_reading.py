"""Reading an Open311 answer as a strict client would: the wire rules every answer must satisfy checked, then one
neutral tree for both formats.

`read(response, fmt)` checks G-10 (UTF-8 and the XML declaration), G-11 (content types), G-20 (no namespaces or
attributes) and G-21/G-22 (container and child names) and returns the Spark tree (G-30): the root dropped,
containers as lists, leaves as text (XML) or JSON values. `leaf_text` turns a JSON tree into the text an XML client
would read, so that the two formats of one resource can be compared field by field. The field lists are the fields
every object of its kind carries, empty ones included.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from lxml import etree  # type: ignore[import-untyped]

FORMATS = ("xml", "json")

# G-11 [SPEC]
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# G-10: the root element is preceded by the XML declaration with encoding="UTF-8"
XML_DECLARATION = re.compile(
    rb"""^<\?xml\s+version=["']1\.0["']\s+encoding=["']utf-8["']\s*\?>""", re.IGNORECASE
)

# G-21: container -> its repeated child
CONTAINERS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_request_updates": "request_update",
    "groups": "group",
    "media_urls": "media_url",
    "notes": "note",
    "extensions": "extension",
}

# Every field of every object of its kind, empty ones included.
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)  # SL-08
ATTRIBUTE_FIELDS = (
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
)  # SD-12
UPDATE_FIELDS = (
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
)  # FX-01

# A parser that never fetches, never expands entities and never loads a DTD: our own answers must not need one.
_SAFE = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
)


def _xml_tree(element: Any, *, container_child: str | None = None) -> Any:
    """Spark: a known container becomes a list of its (checked) children; a leaf its text; else a dict."""
    assert not element.attrib, f"<{element.tag}> carries XML attributes {dict(element.attrib)} (G-20)"
    assert isinstance(element.tag, str) and not element.tag.startswith("{"), (
        f"namespaced element {element.tag} (G-20)"
    )
    children = [c for c in element if isinstance(c.tag, str)]
    child_name = CONTAINERS.get(element.tag) if container_child is None else container_child
    if child_name is not None and (children or element.tag in CONTAINERS):
        names = {c.tag for c in children}
        assert names <= {child_name}, (
            f"<{element.tag}> holds {sorted(names)}, only <{child_name}> allowed (G-21)"
        )
        return [_xml_tree(c) for c in children]
    if not children:
        text = element.text or ""
        return text.strip() if text.strip() else None  # G-23: an empty element is null; SR-22: trim
    fields: dict[str, Any] = {}
    for c in children:
        assert c.tag not in fields, f"<{element.tag}> repeats <{c.tag}> outside a container (G-21)"
        fields[c.tag] = _xml_tree(c)
    return fields


def parse_xml(body: bytes) -> Any:
    """The root element of an Open311 XML body (an lxml element), after the declaration and namespace checks."""
    assert XML_DECLARATION.match(body), f"no XML declaration with encoding utf-8 (G-10): {body[:80]!r}"
    assert b"<!DOCTYPE" not in body.upper(), "an Open311 document has no DOCTYPE"
    root = etree.fromstring(body, _SAFE)
    assert root.nsmap == {} or set(root.nsmap.values()) == {"http://wiki.open311.org/GeoReport_v2"}, (
        f"foreign namespaces {root.nsmap} (G-20)"
    )
    return root


def read(response: httpx.Response, fmt: str, *, root: str | None = None) -> Any:
    """The Spark tree of an answer after the wire checks; `root` is the XML root element it must have (G-21)."""
    assert response.headers.get("content-type", "").lower().replace(" ", "") == CONTENT_TYPES[fmt].replace(
        " ", ""
    ), f"content type {response.headers.get('content-type')!r}, expected {CONTENT_TYPES[fmt]!r} (G-11)"
    body = response.content
    body.decode("utf-8")  # G-10: strictly UTF-8
    if fmt == "json":
        return json.loads(body)
    element = parse_xml(body)
    if root is not None:
        assert element.tag == root, f"XML root <{element.tag}>, expected <{root}> (G-21)"
    return _xml_tree(element)


def xml_root(response: httpx.Response) -> Any:
    return parse_xml(response.content)


def leaf_text(value: Any) -> Any:
    """A JSON leaf as the text an XML client reads (`true`, `12.5`); containers recursively."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return [leaf_text(v) for v in value]
    if isinstance(value, dict):
        return {k: leaf_text(v) for k, v in value.items()}
    return value
