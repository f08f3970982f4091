"""A service's questions (Open311 attributes) as the catalogue page edits them: one question read from a form, and
the service's whole definition with a question added, replaced or removed, ready for the gateway's `PUT` (which
replaces the definition and checks it: unique codes and orders, values only on list types). Pure: no IO.

A question is found by its `order` (its place in the service, a number safe in a path) and checked against the code
the form showed, so a form opened before someone else's change cannot edit or remove another question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DATATYPES = ("string", "text", "number", "datetime", "singlevaluelist", "multivaluelist")
LIST_TYPES = ("singlevaluelist", "multivaluelist")
FORM_FIELDS = ("code", "datatype", "required", "description", "values")
_SERVICE_FIELDS = ("service_name", "description", "group", "keywords", "type")
_ATTRIBUTE_FIELDS = (
    "code",
    "variable",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
)


class Stale(Exception):
    """The question at this place is no longer the one the form showed (changed meanwhile)."""


def values_from_text(text: str) -> list[dict[str, str]]:
    """One answer a line, `key = Name` (or just `Name`, its own key); blank lines skipped."""
    values = []
    for line in text.splitlines():
        key, sep, name = line.partition("=")
        key, name = key.strip(), name.strip()
        if key or name:
            values.append({"key": key or name, "name": name if sep else key})
    return values


def values_as_text(values: list[Mapping[str, Any]] | None) -> str:
    return "\n".join(
        str(v["key"]) if v["key"] == v["name"] else f"{v['key']} = {v['name']}" for v in values or []
    )


def typed_of(attribute: Mapping[str, Any]) -> dict[str, str]:
    """A listed question as its form shows it."""
    return {
        "code": str(attribute.get("code", "")),
        "datatype": str(attribute.get("datatype", "string")),
        "required": "on" if attribute.get("required") else "",
        "description": str(attribute.get("description") or ""),
        "values": values_as_text(attribute.get("values")),
    }


def attribute_from(
    typed: Mapping[str, str], *, order: int, was: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The question a form typed, at `order`; what the form does not show (informational or not, the datatype's
    own description) kept from the question it replaces."""
    datatype = typed.get("datatype", "")
    return {
        "code": typed.get("code", ""),
        "variable": bool(was.get("variable", True)) if was else True,
        "datatype": datatype,
        "required": typed.get("required") == "on",
        "datatype_description": was.get("datatype_description") if was else None,
        "order": order,
        "description": typed.get("description", ""),
        "values": values_from_text(typed.get("values", "")) if datatype in LIST_TYPES else [],
    }


def _fields(service: Mapping[str, Any], attributes: list[dict[str, Any]]) -> dict[str, Any]:
    body = {name: service[name] for name in _SERVICE_FIELDS if name in service}
    body["attributes"] = attributes
    return body


def _kept(service: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The service's questions as the gateway takes them back (a listed definition carries nothing else)."""
    return [
        {**{k: a[k] for k in _ATTRIBUTE_FIELDS if k in a}, "values": [dict(v) for v in a.get("values") or []]}
        for a in service.get("attributes") or []
    ]


def find(service: Mapping[str, Any], order: int, code: str) -> dict[str, Any]:
    for attribute in service.get("attributes") or []:
        if attribute.get("order") == order:
            if attribute.get("code") != code:
                raise Stale(code)
            return dict(attribute)
    raise Stale(code)


def with_added(service: Mapping[str, Any], typed: Mapping[str, str]) -> dict[str, Any]:
    kept = _kept(service)
    order = max((a["order"] for a in kept), default=0) + 1
    return _fields(service, [*kept, attribute_from(typed, order=order)])


def with_replaced(
    service: Mapping[str, Any], order: int, was_code: str, typed: Mapping[str, str]
) -> dict[str, Any]:
    was = find(service, order, was_code)
    kept = _kept(service)
    return _fields(
        service, [attribute_from(typed, order=order, was=was) if a["order"] == order else a for a in kept]
    )


def without(service: Mapping[str, Any], order: int, was_code: str) -> dict[str, Any]:
    find(service, order, was_code)
    return _fields(service, [a for a in _kept(service) if a["order"] != order])
