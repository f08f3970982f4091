"""One neutral document model, rendered as XML or as Spark-convention JSON, so every endpoint has both formats.

A `Document` has a root name and a body. A body is a `Record` (an ordered mapping of field names to values) or a
`Many` (a container of repeated children, each named `Many.item`). The two renderings follow [SPEC] and [CONV]:

* XML (G-20..G-24): a UTF-8 declaration, the root element, then fields as child elements in order; a `Many` puts
  each item in its own `<item>` element even when there is one or none (G-22); booleans are `true`/`false`; None is
  an empty element; no namespaces or attributes.
* JSON (G-30..G-33, Spark): the root is dropped; a `Many` is always an array; a `Record` is an object; None is
  null; datetimes are W3C strings; identifiers are strings because the builders pass them as strings (G-31).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Union

from lxml import etree

from civicloop_gateway.open311.dates import format_w3c
from civicloop_gateway.open311.formats import Format

XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

Scalar = str | int | float | Decimal | bool | datetime | None
Value = Union[Scalar, "Record", "Many"]
Record = Mapping[str, Value]


@dataclass(frozen=True)
class Many:
    """A container of repeated children: `<values><value>…</value></values>` in XML, an array in JSON."""

    item: str
    items: Sequence[Value] = field(default_factory=tuple)


@dataclass(frozen=True)
class Document:
    root: str
    body: Record | Many


# Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline, carriage return; surrogates;
# U+FFFE/U+FFFF). They are dropped rather than letting one stored character turn a whole list into a 500.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _scalar_text(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # G-24
    if isinstance(value, datetime):
        return format_w3c(value)  # G-40
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return xml_text(str(value))


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError("Open311 numbers are finite")
    return repr(value)  # the shortest text that reads back as the same double, as JSON writes it


def _fill(element: etree._Element, value: Value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(etree.SubElement(element, value.item), item)
    elif isinstance(value, Mapping):
        for name, child in value.items():
            _fill(etree.SubElement(element, name), child)
    else:
        element.text = _scalar_text(value)


def to_xml(document: Document) -> bytes:
    root = etree.Element(document.root)
    _fill(root, document.body)
    return XML_DECLARATION + etree.tostring(root, encoding="utf-8")


def _plain(value: Value) -> object:
    if isinstance(value, Many):
        return [_plain(v) for v in value.items]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return format_w3c(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Open311 numbers are finite")
    return value


def to_json(document: Document) -> bytes:
    return json.dumps(_plain(document.body), ensure_ascii=False, separators=(",", ":")).encode()


def render(document: Document, fmt: Format) -> bytes:
    return to_xml(document) if fmt is Format.xml else to_json(document)
