"""A resident's conversation by text or email reply: which of their open requests a message lands on, and what we
answer. Pure: the service layer reads the state and does what `route_reply` decides.

One conversation per resident across channels: the request they last talked about stays theirs for a while (the
conversation's time to live), so a second text needs no question. With several open requests and no such
conversation, the resident is asked which one (a numbered list of request numbers); their answer, a number of that
list or a request number, picks it, and the text they first sent then lands on it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicloop_notifier.domain.texts import N_, Catalog, choose_language

MAX_CHOICES = 5  # a numbered list that fits one SMS segment in either language
_CHOICE = re.compile(r"^\s*#?\s*(\d{1,2})\s*[.)]?\s*$")


class Route(str, enum.Enum):
    land = "land"  # the text is a comment on `request_id`
    ask = "ask"  # the resident is asked which request (`choices`); the text waits
    picked = "picked"  # the answer picked `request_id`: the waiting text lands on it
    none = "none"  # no open request: the text is not about one


@dataclass(frozen=True)
class Conversation:
    """What we remember of a resident's conversation (never the text in clear: the service layer seals it)."""

    request_id: str | None
    choices: tuple[str, ...]
    waiting: bool  # a text waits for the resident's answer to "which request?"
    updated_at: datetime


@dataclass(frozen=True)
class Decision:
    route: Route
    request_id: str | None = None
    choices: tuple[str, ...] = ()


def picked_choice(text: str, choices: Sequence[str]) -> str | None:
    """The request an answer to "which request?" names: its place in the list (1-based) or its number."""
    found = _CHOICE.match(text)
    if found:
        index = int(found.group(1))
        return choices[index - 1] if 1 <= index <= len(choices) else None
    word = text.strip().upper()
    return word if word in choices else None


def route_reply(
    text: str,
    *,
    open_requests: Sequence[str],
    conversation: Conversation | None,
    now: datetime,
    ttl: timedelta,
) -> Decision:
    """Where a resident's message goes. `open_requests` are theirs, newest first."""
    current = conversation if conversation and now - conversation.updated_at <= ttl else None
    if current and current.waiting:
        chosen = picked_choice(text, current.choices)
        if chosen is not None and chosen in open_requests:
            return Decision(Route.picked, chosen)
    if not open_requests:
        return Decision(Route.none)
    if current and current.request_id in open_requests:
        return Decision(Route.land, current.request_id)
    if len(open_requests) == 1:
        return Decision(Route.land, open_requests[0])
    return Decision(Route.ask, choices=tuple(open_requests[:MAX_CHOICES]))


# The replies' source texts are msgids; `notifier.po` translates them (the catalogs are given, so this stays pure).
ASK = N_("Which of your requests is this about? Reply with its number: %(choices)s")
LANDED = N_("Thanks, we added your message to request %(number)s.")
SURVEY_THANKS = N_("Thank you for your answer.")
NOTHING_OPEN = N_(
    "We could not find an open request of yours. To report a problem, visit %(help_contact)s or call 311."
)


def every_msgid() -> list[str]:
    """Every source text of the replies, for the catalogs' completeness check."""
    return [ASK, LANDED, SURVEY_THANKS, NOTHING_OPEN]


def _say(catalogs: Mapping[str, Catalog], language: str, msgid: str, **values: str) -> str:
    return catalogs[choose_language(language, catalogs)].gettext(msgid) % values


def ask_text(catalogs: Mapping[str, Catalog], choices: Sequence[str], language: str) -> str:
    listed = " ".join(f"{i}) {number}" for i, number in enumerate(choices, start=1))
    return _say(catalogs, language, ASK, choices=listed)


def landed_text(catalogs: Mapping[str, Catalog], number: str, language: str) -> str:
    return _say(catalogs, language, LANDED, number=number)


def nothing_open_text(catalogs: Mapping[str, Catalog], language: str, help_contact: str) -> str:
    return _say(catalogs, language, NOTHING_OPEN, help_contact=help_contact)


def survey_thanks_text(catalogs: Mapping[str, Catalog], language: str) -> str:
    return _say(catalogs, language, SURVEY_THANKS)


# A stranger's first text says nothing of their language but its words. Only English and Spanish have texts, so a
# count of each one's commonest short words (and Spanish's own marks) chooses well enough for a reply; the resident
# can still switch (ESPAÑOL / ENGLISH) within a report.
_SPANISH_WORDS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "de",
        "del",
        "en",
        "y",
        "que",
        "hay",
        "mi",
        "mis",
        "es",
        "esta",
        "está",
        "calle",
        "frente",
        "por",
        "para",
        "con",
        "al",
        "se",
        "no",
        "muy",
        "casa",
        "esquina",
        "cerca",
        "roto",
        "rota",
        "basura",
        "bache",
        "hoyo",
        "luz",
    ]
)
_ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "and",
        "is",
        "there",
        "my",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "near",
        "street",
        "st",
        "ave",
        "road",
        "broken",
        "light",
        "trash",
        "pothole",
        "not",
        "very",
        "house",
        "corner",
    ]
)
_SPANISH_MARKS = frozenset("ñáéíóúü¿¡")


def guess_language(text: str) -> str:
    """ "es" when the text reads as Spanish rather than English, else "en"."""
    lowered = text.lower()
    words = re.findall(r"[a-záéíóúüñ]+", lowered)
    spanish = sum(w in _SPANISH_WORDS for w in words) + 2 * sum(c in _SPANISH_MARKS for c in lowered)
    english = sum(w in _ENGLISH_WORDS for w in words)
    return "es" if spanish > english else "en"
