"""The report form's fields read as a submission, and a submission's problems placed back on the form's fields.

Pure: the route hands in the posted fields (a multi-map: a multi-valued attribute posts one value per box ticked) and
gets back the body of `POST /api/v1/requests`, or the fields to mark. A category's questions are named
`attr.<service_code>.<attribute code>`: a form without JavaScript shows every category's questions, and only the
chosen category's answers are sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ATTRIBUTE_PREFIX = "attr."
CHANNELS = ("none", "email", "sms")  # what a resident can choose on the page: we write to them by these
_CONTACT_FIELDS = ("name", "email", "phone")


def submission_of(
    fields: Mapping[str, Sequence[str]], *, media_url: str | None, language: str
) -> dict[str, Any]:
    """The submission the form describes: blank fields left out, so intake's rules judge what is missing."""

    def one(name: str) -> str:
        values = fields.get(name) or ()
        return values[0].strip() if values else ""

    body: dict[str, Any] = {
        "service_code": one("service_code"),
        "description": one("description"),
        "preferred_channel": one("preferred_channel") or "none",
        "language": language,
    }
    for form_name, name in (("address", "address_string"), ("lat", "lat"), ("lng", "long")):
        if value := one(form_name):
            body[name] = value
    if source := one("source"):
        body["source"] = source
    contact = {name: value for name in _CONTACT_FIELDS if (value := one(name))}
    if contact:
        body["contact"] = contact
    prefix = attribute_field(body["service_code"], "")
    attributes = {
        name.removeprefix(prefix): [v.strip() for v in values if v.strip()]
        for name, values in fields.items()
        if body["service_code"] and name.startswith(prefix) and len(name) > len(prefix)
    }
    if attributes := {code: values for code, values in attributes.items() if values}:
        body["attributes"] = attributes
    if media_url:
        body["media_url"] = media_url
    return body


def attribute_field(service_code: str, code: str) -> str:
    """The form field of a category's question."""
    return f"{ATTRIBUTE_PREFIX}{service_code}.{code}"


def form_field_of(loc: Iterable[str | int], service_code: str = "") -> str:
    """The form field a problem located like `("body", "contact", "phone")` belongs to."""
    parts = [str(p) for p in loc if p != "body"]
    if not parts:
        return "form"
    head = parts[0]
    if head == "contact" and len(parts) > 1:
        return parts[1] if parts[1] in _CONTACT_FIELDS else "contact"
    if head == "attributes" and len(parts) > 1:
        return attribute_field(service_code, parts[1])
    return {"address_string": "address", "long": "lng", "link_source": "source"}.get(head, head)
