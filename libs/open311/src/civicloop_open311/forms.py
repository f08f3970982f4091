"""An Open311 POST body, read from the flat list of (name, value) pairs a form parser gives.

PR-01: the same fields arrive form-encoded or as multipart/form-data; file parts are not pairs of text and are
left out by the caller. PR-04: `attribute[CODE]=v`, `attribute[CODE][]=v1&attribute[CODE][]=v2` and the repeated
`attribute[CODE]=v1&attribute[CODE]=v2` (FixMyStreet) all give `{"CODE": ["v1", "v2"]}`. Codes may hold spaces and
punctuation (`attribute[What is this?]`). G-50: an empty value is the same as no value at all. G-10, G-20: characters
XML 1.0 cannot carry (NUL and the other C0 controls but tab and line breaks, lone surrogates, U+FFFE/U+FFFF) are
removed from every value, so whatever is accepted can be stored and shown in both formats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from civicloop_open311.wire import CIVICLOOP_MARKER

ATTRIBUTE_PREFIX = "attribute["
# Parameters whose every value counts (PR-07: FixMyStreet repeats `media_url`, one per photo).
REPEATABLE = frozenset({"media_url"})
# Never part of what identifies a request: the credential, not the content (G-71).
NOT_CONTENT = frozenset({"api_key"})
# The fields that say who sent a report (PR-08): two bodies equal in these came from the same person.
SENDER_FIELDS = frozenset({"email", "phone", "first_name", "last_name", "device_id", "account_id"})
# A partner's own id of the report (FixMyStreet's, PR-11): equal bodies with one are the same report. So are those
# whose description ends with another CivicLoop's marker of its request (`wire.civicloop_marker`).
REPORT_ID_ATTRIBUTES = frozenset({"fixmystreet_id"})
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    return _NOT_XML.sub("", value).strip()


def attribute_code(name: str) -> str | None:
    """`attribute[CODE]` and `attribute[CODE][]` -> `CODE`; any other name -> None."""
    if not name.startswith(ATTRIBUTE_PREFIX) or not name.endswith("]"):
        return None
    inner = name[len(ATTRIBUTE_PREFIX) : -1]
    inner = inner.removesuffix("][")
    return inner or None


@dataclass(frozen=True)
class OpenForm:
    """The text parameters of a POST: single-valued fields, attributes by code, and repeated `media_url`s.

    Values are stripped of surrounding whitespace (the spec's own example has trailing spaces in URLs) and empty
    ones are dropped. A single-valued field sent twice keeps its first non-empty value.
    """

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    repeated: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, pairs: Iterable[tuple[str, str]]) -> OpenForm:
        fields: dict[str, str] = {}
        attributes: dict[str, list[str]] = {}
        repeated: dict[str, list[str]] = {}
        for name, raw in pairs:
            value = clean_text(raw)
            if not value:
                continue
            code = attribute_code(name)
            if code is not None:
                attributes.setdefault(code, []).append(value)
            elif name in REPEATABLE:
                repeated.setdefault(name, []).append(value)
            else:
                fields.setdefault(name, value)
        return cls(fields=fields, attributes=attributes, repeated=repeated)

    def __repr__(self) -> str:  # bodies carry contact details: never let a log line print the values
        return f"OpenForm(fields={sorted(self.fields)}, attributes={sorted(self.attributes)})"

    __str__ = __repr__

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def all(self, name: str) -> list[str]:
        return list(self.repeated.get(name, []))

    def names_its_sender(self) -> bool:
        return any(self.fields.get(name) for name in SENDER_FIELDS)

    def carries_report_id(self) -> bool:
        if any(self.attributes.get(code) for code in REPORT_ID_ATTRIBUTES):
            return True
        return CIVICLOOP_MARKER.search(self.fields.get("description", "")) is not None

    def canonical(self) -> str:
        """The body with its encoding differences removed: what a retry of the same POST has in common.

        Attribute style (`[]` or repeated), parameter order and the order of a list's values do not count; the
        order of `media_url`s does. The api_key does not count either: a partner that rotates its key between two
        attempts is still retrying.
        """
        return json.dumps(
            {
                "fields": {k: v for k, v in sorted(self.fields.items()) if k not in NOT_CONTENT},
                "attributes": {k: sorted(v) for k, v in sorted(self.attributes.items())},
                "repeated": dict(sorted(self.repeated.items())),
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )


def body_digest(
    form: OpenForm,
    *,
    jurisdiction_id: str,
    client_id: str,
    key: bytes,
    idempotency_key: str | None = None,
) -> str:
    """PR-11: the fingerprint by which a partner's retry is recognised; with the partner's `Idempotency-Key`, the
    key is part of it (the same body under two keys is two requests).

    Keyed with the deployment's pepper (HMAC-SHA256), because bodies carry contact details: a stored plain hash of
    a short body could be confirmed by guessing its e-mail address.
    """
    parts = [jurisdiction_id, client_id, form.canonical()]
    if idempotency_key is not None:
        parts.append(idempotency_key)
    message = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
