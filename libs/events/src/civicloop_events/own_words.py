"""A resident's own contact details kept out of the text they report in public.

The description and the address of a report are published (Open311, the public pages, open data), while the contact
is sealed. Residents often type who they are into both ("I am Ana Lopez, call me..."), and no scrub can recognise a
name in free text: only the service that takes the submission (intake, the gateway's Open311 POST) reads the contact
in clear, so `submitted.submitted_event` takes it out there. So the submission's description loses the name and each word of it (three letters or
more), and its address the whole name and the e-mail address; phone numbers and e-mail addresses of anyone are
scrubbed again where the text is shown (`civicloop_places.scrub`). Staff write the resident's name into public
comments and notes too ("told Mrs Okonkwo we come Tuesday"): intake unseals the request's contact for a staff
command and takes it out of those the same way (`public_text_without_own_contact`). Pure.
"""

from __future__ import annotations

import re

from civicloop_events.payloads import CommentAdded, CommentVisibility, EventPayload
from civicloop_events.personal_data import PersonalData

NAME_REMOVED = "[name removed]"
EMAIL_REMOVED = "[email removed]"
DESCRIPTION_MAX = 4000  # request.submitted's bound on a description
_MIN_PART = 3  # shorter parts ("Li", "Jo") are too often ordinary words to remove


def _whole_words(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def _name_parts(name: str) -> list[str]:
    parts = {p for p in re.split(r"[\s,]+", name.strip()) if len(p.strip(".-'")) >= _MIN_PART}
    return sorted(parts, key=len, reverse=True)  # "Anna-Maria" before "Anna"


def _without(text: str, words: list[str], marker: str) -> str:
    for word in words:
        text = _whole_words(word).sub(marker, text)
    return text


def description_without_own_contact(text: str, contact: PersonalData | None) -> str:
    """`text` without the resident's name (whole, then each word of it) or e-mail address."""
    if contact is None:
        return text
    if contact.email:
        text = _without(text, [contact.email], EMAIL_REMOVED)
    if contact.name and contact.name.strip():
        text = _without(text, [contact.name.strip()], NAME_REMOVED)
        text = _without(text, _name_parts(contact.name), NAME_REMOVED)
    return text


def address_without_own_contact(address: str | None, contact: PersonalData | None) -> str | None:
    """`address` without the resident's whole name or e-mail address. Single words of the name stay: a resident named
    "Ana Main" may well live on Main St."""
    if address is None or contact is None:
        return address
    if contact.email:
        address = _without(address, [contact.email], EMAIL_REMOVED)
    if contact.name and contact.name.strip():
        address = _without(address, [contact.name.strip()], NAME_REMOVED)
    return address


def public_text_without_own_contact(payload: EventPayload, contact: PersonalData | None) -> EventPayload:
    """A staff command's event with the resident's own name and e-mail address taken out of what the public reads:
    a public comment's text, a public note. Internal comments and everything else stay as written."""
    if contact is None:
        return payload
    changes: dict[str, str] = {}
    if isinstance(payload, CommentAdded) and payload.visibility is CommentVisibility.public:
        changes["text"] = description_without_own_contact(payload.text, contact)
    note = getattr(payload, "public_note", None)
    if isinstance(note, str):
        changes["public_note"] = description_without_own_contact(note, contact)
    changed = {k: v for k, v in changes.items() if v != getattr(payload, k)}
    return payload.model_copy(update=changed) if changed else payload
