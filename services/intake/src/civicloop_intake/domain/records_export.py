"""A public-records export of one request (MPIA / FOIA): its history from the log, redacted by default.

Pure: the history comes in as the replay gives it (each event as JSON with its partition and offset), and the export
is that same list with personal data taken out, or, when an auditor asked for it unsealed, with each sealed contact
opened. Redacted, a sealed contact (an object with `resident_id`, `nonce` and `ciphertext`) becomes "[redacted]"
wherever it stands, and the free-text fields residents and staff type (FREE_TEXT) lose phone numbers and email
addresses. Nothing else changes, so the export and the replay agree event for event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

REDACTED = "[redacted]"
ERASED = "[erased]"  # unsealed, but the resident's key is gone: erasure is what it says

# Payload fields whose values are typed by people (residents, agents, back-ends): where a phone or an email may hide.
FREE_TEXT = frozenset(
    {
        "description",
        "text",
        "public_note",
        "note",
        "address_string",
        "address",
        "comment",
        "status_notes",
        "agency_responsible",
    }
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A phone: an optional +country, then 7 to 15 digits with spaces, dots, dashes or brackets between them.
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\(?\d(?:[\s.\-()]{0,2}\d){6,14}(?![\w])")


def scrub_text(text: str) -> str:
    """`text` with email addresses and phone numbers replaced by "[redacted]"."""
    return _PHONE.sub(REDACTED, _EMAIL.sub(REDACTED, text))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and {"resident_id", "nonce", "ciphertext"} <= value.keys()


def sealed_contacts(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every sealed contact in the history, for the caller to open (unsealed exports only)."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if is_sealed(value):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(history)
    return found


def _transform(
    value: Any, *, sealed: Callable[[dict[str, Any]], Any], scrub: bool, key: str | None = None
) -> Any:
    if is_sealed(value):
        return sealed(value)
    if isinstance(value, dict):
        return {k: _transform(v, sealed=sealed, scrub=scrub, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [_transform(v, sealed=sealed, scrub=scrub, key=key) for v in value]
    if scrub and isinstance(value, str) and key in FREE_TEXT:
        return scrub_text(value)
    return value


@dataclass(frozen=True)
class RecordsExport:
    request_number: str
    exported_at: datetime
    exported_by: str  # the actor, `agent:<staff id>` or `system:records-cli:<operator>`
    redacted: bool
    events: list[dict[str, Any]]
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def through_offset(self) -> int | None:
        return self.events[-1]["offset"] if self.events else None

    def as_json(self) -> dict[str, Any]:
        return {
            "request_number": self.request_number,
            "exported_at": self.exported_at.isoformat(),
            "exported_by": self.exported_by,
            "redacted": self.redacted,
            "reason": self.reason,
            "events": self.events,
        }


def build_export(
    history: list[dict[str, Any]],
    *,
    request_number: str,
    exported_at: datetime,
    exported_by: str,
    unsealed: Mapping[str, Mapping[str, Any] | None] | None = None,
    reason: str | None = None,
) -> RecordsExport:
    """The export of `history`: redacted unless `unsealed` is given (ciphertext -> the opened contact, or None for a
    resident whose key was erased)."""
    if unsealed is None:
        events = [_transform(entry, sealed=lambda _: REDACTED, scrub=True) for entry in history]
    else:
        opened = unsealed

        def open_contact(value: dict[str, Any]) -> Any:
            contact = opened.get(value["ciphertext"])
            return dict(contact) if contact is not None else ERASED

        events = [_transform(entry, sealed=open_contact, scrub=False) for entry in history]
    return RecordsExport(
        request_number=request_number,
        exported_at=exported_at,
        exported_by=exported_by,
        redacted=unsealed is None,
        events=events,
        reason=reason,
    )
