"""One neutral document model, rendered as XML or as Spark-convention JSON, so every endpoint has both formats.

A `Document` has a root name and a body. A body is a `Record` (an ordered mapping of field names to values) or a
`Many` (a container of repeated children, each named `Many.item`). The two renderings follow [SPEC] and [CONV]:

* XML (G-20..G-24): a UTF-8 declaration, the root element, then fields as child elements in order; a `Many` puts
  each item in its own `<item>` element even when there is one or none (G-22); booleans are `true`/`false`; None is
  an empty element; no namespaces or attributes.
* JSON (G-30..G-33, Spark): the root is dropped; a `Many` is always an array; a `Record` is an object; None is
  null; datetimes are W3C strings; identifiers are strings because the builders pass them as strings (G-31).

Both are written for long lists (a thousand requests in one answer): XML is written as text, each record through a
template of its fields with one escaping check per record; JSON by orjson, without a walk over every value when a
`Many` says its numbers came through `number()`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Union

import orjson

from civicloop_open311.dates import format_w3c
from civicloop_open311.formats import Format

XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


class Number(str):
    """A finite number whose JSON text orjson would spell differently from `repr`: its `repr`, written as is."""


Scalar = str | int | float | Decimal | bool | datetime | Number | None
Value = Union[Scalar, "Record", "Many"]
Record = Mapping[str, Value]


@dataclass(frozen=True)
class Many:
    """A container of repeated children: `<values><value>…</value></values>` in XML, an array in JSON.

    `numbers_checked`: every float among the items (at any depth) came through `number()`, so JSON writes the items
    as they are instead of walking them.
    """

    item: str
    items: Sequence[Value] = field(default_factory=tuple)
    numbers_checked: bool = False


@dataclass(frozen=True)
class Document:
    root: str
    body: Record | Many


def number(value: float | None) -> float | Number | None:
    """A float (or None) ready for both renderings; non-finite numbers are refused (G-33).

    JSON writes a number as Python's `repr` does. orjson agrees with `repr` for 0 and for 1e-4 <= |value| < 1e16,
    so such a float stays a float; any other is kept as its `repr` text, a `Number`.
    """
    if value is None or 1e-4 <= abs(value) < 1e16 or value == 0:
        return value
    if not math.isfinite(value):
        raise ValueError("Open311 numbers are finite")
    return Number(float.__repr__(value))


# -- XML ---------------------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline, carriage return; surrogates;
# U+FFFE/U+FFFF). They are dropped rather than letting one stored character turn a whole list into a 500.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What text needs before it goes between tags: those characters dropped, markup and carriage returns escaped.
_NEEDS_ESCAPING = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _escape(text: str) -> str:
    """Element text as libxml2 serialises it: `&`, `<`, `>` as entities, a carriage return as `&#13;`."""
    return (
        xml_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


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


class _Nested(Exception):
    """A record's field holds a record or a `Many`: the record is written field by field."""


def _flat_text(value: Value) -> str:
    if not isinstance(value, (float, int, datetime, Decimal)) and isinstance(value, (Many, Mapping)):
        raise _Nested
    return _scalar_text(value)


@lru_cache(maxsize=256)
def _template(name: str, fields: tuple[str, ...]) -> str:
    """`<name><a>%s</a><b>%s</b></name>`: a record of scalar fields in one formatting."""
    return f"<{name}>" + "".join(f"<{f}>%s</{f}>" for f in fields) + f"</{name}>"


def _write_record(out: list[str], name: str, record: Record) -> None:
    """A non-empty record: through its template when every field is a scalar, escaping only when some text needs
    it; field by field otherwise."""
    try:
        texts = [
            v if type(v) is str else "" if v is None else _number(v) if type(v) is float else _flat_text(v)
            for v in record.values()
        ]
    except _Nested:
        out.append(f"<{name}>")
        for child_name, child in record.items():
            _write(out, child_name, child)
        out.append(f"</{name}>")
        return
    if _NEEDS_ESCAPING.search("".join(texts)):
        texts = [_escape(t) for t in texts]
    out.append(_template(name, tuple(record)) % tuple(texts))


def _write(out: list[str], name: str, value: Value) -> None:
    """Append element `name` holding `value`; an element with no children and no text is `<name/>`."""
    if isinstance(value, Many):
        if not value.items:
            out.append(f"<{name}/>")
            return
        out.append(f"<{name}>")
        for item in value.items:
            if type(item) is dict and item:
                _write_record(out, value.item, item)
            else:
                _write(out, value.item, item)
        out.append(f"</{name}>")
    elif isinstance(value, Mapping):
        if value:
            _write_record(out, name, value)
        else:
            out.append(f"<{name}/>")
    else:
        out.append(f"<{name}>{_escape(_scalar_text(value))}</{name}>")


def to_xml(document: Document) -> bytes:
    out: list[str] = []
    _write(out, document.root, document.body)
    return XML_DECLARATION + "".join(out).encode()


def xml_element(name: str, value: Value) -> str:
    """Element `name` holding `value`, as `to_xml` writes it inside a document (no declaration)."""
    out: list[str] = []
    _write(out, name, value)
    return "".join(out)


def xml_escaped(text: str) -> str:
    """`text` as `to_xml` writes it between tags."""
    return _escape(text)


def xml_list(root: str, elements: Sequence[str]) -> bytes:
    """The document `to_xml` writes for a `Many` under `root` whose items are already written as `elements`."""
    body = f"<{root}>{''.join(elements)}</{root}>" if elements else f"<{root}/>"
    return XML_DECLARATION + body.encode()


# -- JSON --------------------------------------------------------------------------------------------------------

# Subclasses, dataclasses (`Many`) and datetimes go through `_plain`; dicts, lists, str, int, float, bool and None
# are written by orjson itself.
_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def _plain(value: Any) -> Any:
    """`value` in types orjson writes itself: containers as lists and dicts, datetimes as W3C text, every number
    spelled as `repr` spells it (G-33)."""
    if isinstance(value, Many):
        return [_plain(v) for v in value.items]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Number):
        return orjson.Fragment(str.__str__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        value = int(value)
        return value if _INT64_MIN <= value <= _UINT64_MAX else orjson.Fragment(int.__repr__(value))
    if isinstance(value, float):
        checked = number(float(value))
        return orjson.Fragment(str.__str__(checked)) if isinstance(checked, Number) else checked
    if isinstance(value, datetime):
        return format_w3c(value)
    if isinstance(value, Decimal):
        return _plain(float(value))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(document: Document) -> bytes:
    body = document.body
    if isinstance(body, Many) and body.numbers_checked:
        items = body.items if isinstance(body.items, list) else list(body.items)
        return orjson.dumps(items, default=_plain, option=_PASSTHROUGH)
    return orjson.dumps(_plain(body), default=_plain, option=_PASSTHROUGH)


def json_value(value: Value) -> bytes:
    """`value` as `to_json` writes it inside a `Many` whose numbers came through `number()`."""
    return orjson.dumps(value, default=_plain, option=_PASSTHROUGH)


def json_list(items: Sequence[str]) -> bytes:
    """The array `to_json` writes for a `Many` whose items are already written (as text) as `items`."""
    return f"[{','.join(items)}]".encode()


def render(document: Document, fmt: Format) -> bytes:
    return to_xml(document) if fmt is Format.xml else to_json(document)
