"""Free text made fit for public output: phone numbers, email addresses and house numbers removed.

Public text (a public note, a description where one is shown) may carry what a resident or an agent typed: "call me
on 410-555-0134", "jane@example.org", "outside 1234 Main St". `scrub` replaces each email and phone with a marker and
turns "1234 Main St" into "1200 block of Main St", as `block_address` does for addresses. It errs towards removing:
any run of 7 or more digits (with the separators phones use) not glued to letters is taken for a phone. Pure, no IO.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[email removed]"
PHONE_MARK = "[phone removed]"

# Local part and domain as loosely as mail clients accept them; an "at" sign between word characters is enough.
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)*", re.UNICODE)
# A phone: an optional "+" or "00" prefix, then digits in groups separated by spaces, dots, dashes, slashes or
# parentheses, 7 digits or more in all (US "410-555-0134", "(410) 555 0134", international "+44 20 7946 0958").
# Not glued to letters: "2962788ca4" (an id, a hash) is no phone.
_PHONE_CANDIDATE = re.compile(r"(?<![^\W_])(?:\+|00)?\(?\d(?:[\s().\-/]{0,3}\d){6,}(?![^\W_])")
_STREET = (
    r"(?:ST|STREET|AVE?|AVENUE|RD|ROAD|BLVD|BOULEVARD|DR|DRIVE|WAY|LN|LANE|PL|PLACE|CT|COURT|HWY|HIGHWAY|PKWY|"
    r"PARKWAY|TER|TERRACE|CIR|CIRCLE|SQ|SQUARE|BROADWAY|CALLE|AVENIDA)"
)
# Words of a sentence rather than of a street's name: "Crew 7 is on the way" and "3 cones on Main St" hold no house
# number, though "way" and "St" are street types.
_SENTENCE_WORD = (
    r"(?:is|are|was|were|be|will|on|at|in|to|of|for|by|and|or|the|a|an|it|we|our|your|this|that|"
    r"es|en|el|la|los|las|de|del|y|un|una|por|para)"
)
# "1234 Main St", "1234-1236 N Main Street", "12B Elm Rd": a number, up to four words, a street type.
_HOUSE_NUMBER = re.compile(
    rf"\b(?P<number>\d{{1,6}})(?:\s*-\s*\d{{1,6}})?[A-Za-z]?(?!\s+block\s+of\b)"
    rf"(?P<street>(?:\s+(?!{_SENTENCE_WORD}\b)[\w.'-]+){{0,4}}?\s+{_STREET}\b\.?)",
    re.IGNORECASE,
)


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return PHONE_MARK if digits >= 7 else match.group(0)


def _block(match: re.Match[str]) -> str:
    return f"{int(match.group('number')) // 100 * 100} block of{match.group('street')}"


def scrub_contacts(text: str) -> str:
    """The text with emails and phones replaced by markers (house numbers kept)."""
    return _PHONE_CANDIDATE.sub(_phone, _EMAIL.sub(EMAIL_MARK, text))


def scrub(text: str | None) -> str | None:
    """The text with emails and phones replaced by markers and house numbers generalised to the block."""
    if text is None:
        return None
    return _HOUSE_NUMBER.sub(_block, scrub_contacts(text))
