"""Reporting a problem by text message: the conversation from a resident's first text to a submitted request.

Pure: each turn takes the conversation so far (None for a first text) and what happened (a text, the geocoder's
places, intake's answer) and gives the conversation after it, the reply, and what the caller must do next (geocode an
address, submit the report), whose result comes back as the next turn. The steps: the category (by keyword from the
catalogue's names and keywords, else a numbered menu), the address (geocoded; several places become a numbered
choice), the service's required questions (the catalogue's attribute definitions), a confirmation, the submission.
EXIT (or CANCEL, CANCELAR, SALIR) gives up at any step; a conversation left alone for the timeout starts afresh.
Every reply fits `MAX_REPLY_SEGMENTS` SMS segments; every text taken is cut to its limit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from civicloop_channels.sms_segments import sms_segments
from civicloop_events.payloads import (
    DEFAULT_LANGUAGE,
    LANGUAGE_TAG_PATTERN,
    AttributeDatatype,
    ServiceAttribute,
)
from pydantic import BaseModel, ConfigDict, Field

from civicloop_notifier.domain import text_report_texts as texts
from civicloop_notifier.domain.texts import choose_language

MAX_REPLY_SEGMENTS = 3
"""A reply is at most this many SMS segments (a concatenated SMS; a menu is cut to fit)."""
MAX_MENU = 9  # one digit per entry
MAX_INBOUND_CHARS = 1600  # Twilio's longest message body
MAX_DESCRIPTION_CHARS = 1000
MAX_ADDRESS_QUERY_CHARS = 200
MAX_ANSWER_CHARS = 500
MAX_NAME_CHARS = 40  # a service or value name in a menu
MAX_PLACE_CHARS = 70  # an address in a list or the confirmation
MIN_CONFIDENCE = 0.3  # places below are not offered
SURE_CONFIDENCE = 0.9  # a place this sure, clearly ahead of the next, is taken without asking

_EXIT = frozenset({"EXIT", "CANCEL", "CANCELAR", "SALIR", "ANULAR"})
_YES = frozenset({"OK", "YES", "Y", "SI", "S", "SEND", "ENVIAR", "VALE"})
_NO = frozenset({"NO", "N"})
_SPANISH = frozenset({"ESPANOL", "SPANISH"})
_ENGLISH = frozenset({"ENGLISH", "INGLES"})


class Catalog(Protocol):
    def gettext(self, message: str, /) -> str: ...


class Step(str, enum.Enum):
    category = "category"
    address = "address"
    choose_address = "choose_address"
    attribute = "attribute"
    confirm = "confirm"
    submitted = "submitted"
    cancelled = "cancelled"


FINISHED = frozenset({Step.submitted, Step.cancelled})


@dataclass(frozen=True)
class ReportableService:
    """A catalogue service a resident can report by text (an active one)."""

    code: str
    name: str
    keywords: tuple[str, ...] = ()
    attributes: tuple[ServiceAttribute, ...] = ()

    def questions(self) -> list[ServiceAttribute]:
        """The required questions a resident answers, in the catalogue's order."""
        asked = [a for a in self.attributes if a.required and a.variable]
        return sorted(asked, key=lambda a: a.order)


class Place(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    lat: float
    long: float
    confidence: float = Field(ge=0, le=1)


class Conversation(BaseModel):
    """Where a resident's report stands; kept between texts (as JSON), keyed by a digest of their number."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    language: str
    step: Step
    started_at: datetime
    updated_at: datetime
    description: str = ""
    menu: tuple[str, ...] = ()  # the service codes of the menu offered, in order
    service_code: str | None = None
    service_name: str | None = None
    candidates: tuple[Place, ...] = ()
    place: Place | None = None
    attributes: dict[str, list[str]] = Field(default_factory=dict)

    def is_open(self, now: datetime, timeout: timedelta) -> bool:
        """Still under way: neither finished nor left alone past the timeout."""
        return self.step not in FINISHED and now - self.updated_at < timeout


@dataclass(frozen=True)
class Geocode:
    """Look `query` up in the jurisdiction's area; give the places to `after_geocoding`."""

    query: str


@dataclass(frozen=True)
class Submit:
    """File the report (`after_submission` with intake's answer); the conversation id keys its retries."""

    conversation_id: str
    service_code: str
    description: str
    place: Place
    attributes: dict[str, list[str]]
    language: str


@dataclass(frozen=True)
class Turn:
    conversation: Conversation
    reply: str
    action: Geocode | Submit | None = None


@dataclass(frozen=True)
class Context:
    """What a turn reads: the jurisdiction's reportable services, the catalogs, the time."""

    services: Sequence[ReportableService]
    catalogs: Mapping[str, Catalog]
    now: datetime
    timeout: timedelta

    def service(self, code: str | None) -> ReportableService | None:
        return next((s for s in self.services if s.code == code), None)

    def say(self, conversation: Conversation, msgid: str) -> str:
        return self.catalogs[choose_language(conversation.language, self.catalogs)].gettext(msgid)


# ---- reading what residents write ------------------------------------------------------------------------------


def folded(text: str) -> str:
    """Lower case without accents, so "Baché" matches "bache"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _word(text: str) -> str:
    return folded(text).strip(" \t\r\n.,;:!¡?¿'\"").upper()


def _numbers(text: str) -> list[int] | None:
    """The numbers of a numbered choice ("2", "1 3", "1,3"), or None when the text is not only numbers."""
    parts = [p for p in re.split(r"[\s,;.]+", text.strip()) if p]
    if not parts or not all(p.isdigit() and len(p) <= 2 for p in parts):
        return None
    return [int(p) for p in parts]


def matching_services(text: str, services: Sequence[ReportableService]) -> list[ReportableService]:
    """The services whose name or a keyword is in the text as whole words (a plural too), best first; only those
    with the most matches."""
    said = folded(text)
    scored: list[tuple[int, ReportableService]] = []
    for service in services:
        terms = {folded(t).strip() for t in (service.name, *service.keywords)} - {""}
        score = sum(1 for t in terms if re.search(rf"\b{re.escape(t)}(s|es)?\b", said))
        if score:
            scored.append((score, service))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    return [service for score, service in scored if score == best]


# ---- shaping replies --------------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fits(text: str) -> bool:
    return sms_segments(text).count <= MAX_REPLY_SEGMENTS


def _numbered(header: str, entries: Sequence[str], footer: str = "") -> tuple[str, int]:
    """The header, as many numbered entries as fit (at most `MAX_MENU`), the footer; and how many entries."""
    shown: list[str] = []
    for entry in entries[:MAX_MENU]:
        candidate = [*shown, f"{len(shown) + 1} {entry}"]
        if not fits("\n".join([header, *candidate, footer]).strip()):
            break
        shown = candidate
    return "\n".join([header, *shown, footer]).strip(), len(shown)


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# ---- the conversation -----------------------------------------------------------------------------------------


def respond(
    conversation: Conversation | None,
    text: str,
    *,
    language: str,
    new_id: str,
    ctx: Context,
) -> Turn:
    """The turn for a text from the resident. A missing, finished or timed-out conversation starts afresh (`new_id`
    names the new one): the text is the problem's description, and its words may already name the category."""
    text = text.strip()[:MAX_INBOUND_CHARS]
    word = _word(text)
    if conversation is None or not conversation.is_open(ctx.now, ctx.timeout):
        return _start(text, language=language, new_id=new_id, ctx=ctx)
    conversation = conversation.model_copy(update={"updated_at": ctx.now})
    if word in _EXIT:
        return _cancelled(conversation, ctx)
    if word in _SPANISH | _ENGLISH:
        switched = conversation.model_copy(update={"language": "es" if word in _SPANISH else "en"})
        return Turn(switched, question(switched, ctx))
    match conversation.step:
        case Step.category:
            return _on_category(conversation, text, ctx)
        case Step.address:
            return _geocode(conversation, text)
        case Step.choose_address:
            return _on_place_choice(conversation, text, ctx)
        case Step.attribute:
            return _on_answer(conversation, text, ctx)
        case _:  # Step.confirm
            return _on_confirmation(conversation, word, ctx)


def after_geocoding(conversation: Conversation, places: Sequence[Place], ctx: Context) -> Turn:
    """The geocoder's places for the address the resident sent (best first)."""
    offered = tuple(p for p in places if p.confidence >= MIN_CONFIDENCE)
    if not offered:
        moved = conversation.model_copy(update={"step": Step.address, "candidates": ()})
        return Turn(moved, ctx.say(moved, texts.ADDRESS_NOT_FOUND))
    best = offered[0]
    clearly_best = len(offered) == 1 or offered[1].confidence < best.confidence - 0.1
    if best.confidence >= SURE_CONFIDENCE and clearly_best:
        return _placed(conversation, best, ctx)
    header = ctx.say(conversation, texts.ASK_WHICH_PLACE)
    _, shown = _numbered(header, [_cut(p.address, MAX_PLACE_CHARS) for p in offered])
    moved = conversation.model_copy(update={"step": Step.choose_address, "candidates": offered[:shown]})
    return Turn(moved, question(moved, ctx))


def after_geocoder_unavailable(conversation: Conversation, ctx: Context) -> Turn:
    moved = conversation.model_copy(update={"step": Step.address})
    return Turn(moved, ctx.say(moved, texts.GEOCODER_UNAVAILABLE))


class SubmissionAnswer(str, enum.Enum):
    filed = "filed"  # intake holds the request (its number comes in the notifier's "received" message)
    refused = "refused"  # intake refused the report as it is: asking again cannot help
    unavailable = "unavailable"  # try again later, under the same key


def after_submission(conversation: Conversation, answer: SubmissionAnswer, ctx: Context) -> Turn:
    if answer is SubmissionAnswer.filed:
        done = _finished(conversation, Step.submitted)
        return Turn(done, ctx.say(done, texts.SUBMITTED))
    if answer is SubmissionAnswer.refused:
        done = _finished(conversation, Step.cancelled)
        return Turn(done, ctx.say(done, texts.SUBMISSION_REFUSED))
    return Turn(conversation, ctx.say(conversation, texts.SUBMISSION_UNAVAILABLE))


def question(conversation: Conversation, ctx: Context) -> str:
    """What the conversation asks at its step (again, after a text it could not read)."""
    match conversation.step:
        case Step.category:
            return _category_menu(conversation, [ctx.service(c) for c in conversation.menu], ctx)[0]
        case Step.address:
            return ctx.say(conversation, texts.ASK_ADDRESS)
        case Step.choose_address:
            header = ctx.say(conversation, texts.ASK_WHICH_PLACE)
            return _numbered(header, [_cut(p.address, MAX_PLACE_CHARS) for p in conversation.candidates])[0]
        case Step.attribute:
            return _attribute_question(conversation, _next_question(conversation, ctx), ctx)
        case Step.confirm:
            return _confirmation(conversation, ctx)
        case _:
            return ""


def _start(text: str, *, language: str, new_id: str, ctx: Context) -> Turn:
    conversation = Conversation(
        conversation_id=new_id,
        # The tag goes to intake with the report: one it would refuse is not worth losing the report for.
        language=language
        if len(language) <= 35 and re.fullmatch(LANGUAGE_TAG_PATTERN, language)
        else DEFAULT_LANGUAGE,
        step=Step.category,
        started_at=ctx.now,
        updated_at=ctx.now,
        description=_cut(text, MAX_DESCRIPTION_CHARS),
    )
    if not ctx.services:
        done = _finished(conversation, Step.cancelled)
        return Turn(done, ctx.say(done, texts.NO_CATEGORIES))
    return _choose_category(conversation, text, ctx, offer=list(ctx.services))


def _choose_category(
    conversation: Conversation, text: str, ctx: Context, *, offer: list[ReportableService]
) -> Turn:
    matches = matching_services(text, ctx.services)
    if len(matches) == 1:
        return _categorised(conversation, matches[0], ctx)
    reply, shown = _category_menu(conversation, matches or offer, ctx)
    codes = tuple(s.code for s in (matches or offer)[:shown])
    return Turn(conversation.model_copy(update={"step": Step.category, "menu": codes}), reply)


def _category_menu(
    conversation: Conversation, services: Sequence[ReportableService | None], ctx: Context
) -> tuple[str, int]:
    names = [_cut(s.name, MAX_NAME_CHARS) for s in services if s is not None]
    footer = ctx.say(conversation, texts.ASK_CATEGORY_OR_WORD)
    return _numbered(ctx.say(conversation, texts.ASK_CATEGORY), names, footer)


def _on_category(conversation: Conversation, text: str, ctx: Context) -> Turn:
    numbers = _numbers(text)
    if numbers is not None:
        if len(numbers) == 1 and 1 <= numbers[0] <= len(conversation.menu):
            chosen = ctx.service(conversation.menu[numbers[0] - 1])
            if chosen is not None:
                return _categorised(conversation, chosen, ctx)
        return Turn(
            conversation, _joined(ctx.say(conversation, texts.NOT_UNDERSTOOD), question(conversation, ctx))
        )
    return _choose_category(conversation, text, ctx, offer=list(ctx.services))


def _categorised(conversation: Conversation, service: ReportableService, ctx: Context) -> Turn:
    moved = conversation.model_copy(
        update={
            "step": Step.address,
            "menu": (),
            "service_code": service.code,
            "service_name": service.name,
            "attributes": {},
        }
    )
    chosen = ctx.say(moved, texts.CATEGORY_CHOSEN) % {"service": _cut(service.name, MAX_NAME_CHARS)}
    return Turn(moved, _joined(chosen, ctx.say(moved, texts.ASK_ADDRESS)))


def _geocode(conversation: Conversation, text: str) -> Turn:
    # The reply is given once the places are known (`after_geocoding`).
    return Turn(conversation, "", Geocode(text[:MAX_ADDRESS_QUERY_CHARS]))


def _on_place_choice(conversation: Conversation, text: str, ctx: Context) -> Turn:
    numbers = _numbers(text)
    if numbers is None:
        return _geocode(conversation, text)  # another address
    if len(numbers) == 1 and 1 <= numbers[0] <= len(conversation.candidates):
        return _placed(conversation, conversation.candidates[numbers[0] - 1], ctx)
    return Turn(
        conversation, _joined(ctx.say(conversation, texts.NOT_UNDERSTOOD), question(conversation, ctx))
    )


def _placed(conversation: Conversation, place: Place, ctx: Context) -> Turn:
    moved = conversation.model_copy(update={"place": place, "candidates": ()})
    return _ask_next(moved, ctx)


def _next_question(conversation: Conversation, ctx: Context) -> ServiceAttribute | None:
    service = ctx.service(conversation.service_code)
    questions = service.questions() if service else []
    return next((q for q in questions if q.code not in conversation.attributes), None)


def _ask_next(conversation: Conversation, ctx: Context) -> Turn:
    attribute = _next_question(conversation, ctx)
    if attribute is None:
        moved = conversation.model_copy(update={"step": Step.confirm})
        return Turn(moved, _confirmation(moved, ctx))
    moved = conversation.model_copy(update={"step": Step.attribute})
    return Turn(moved, _attribute_question(moved, attribute, ctx))


def _attribute_question(conversation: Conversation, attribute: ServiceAttribute | None, ctx: Context) -> str:
    if attribute is None:
        return ""
    asked = _cut(attribute.description or attribute.code, 300)
    match attribute.datatype:
        case AttributeDatatype.singlevaluelist | AttributeDatatype.multivaluelist:
            how = (
                texts.ASK_ONE_NUMBER
                if attribute.datatype is AttributeDatatype.singlevaluelist
                else texts.ASK_NUMBERS
            )
            values = [_cut(v.name, MAX_NAME_CHARS) for v in attribute.values]
            return _numbered(asked, values, ctx.say(conversation, how))[0]
        case AttributeDatatype.number:
            return _joined(asked, ctx.say(conversation, texts.ASK_A_NUMBER))
        case AttributeDatatype.datetime:
            return _joined(asked, ctx.say(conversation, texts.ASK_A_DATE))
        case _:
            return asked


def _on_answer(conversation: Conversation, text: str, ctx: Context) -> Turn:
    attribute = _next_question(conversation, ctx)
    if attribute is None:  # the catalogue changed under the conversation: nothing left to ask
        return _ask_next(conversation, ctx)
    values = read_answer(attribute, text)
    if values is None:
        again = _attribute_question(conversation, attribute, ctx)
        return Turn(conversation, _joined(ctx.say(conversation, texts.NOT_UNDERSTOOD), again))
    answered = conversation.model_copy(
        update={"attributes": {**conversation.attributes, attribute.code: values}}
    )
    return _ask_next(answered, ctx)


def read_answer(attribute: ServiceAttribute, text: str) -> list[str] | None:
    """The values an answer gives the attribute, as intake takes them (value keys, a number, an ISO date), or None
    when it does not answer the question."""
    text = text.strip()
    match attribute.datatype:
        case AttributeDatatype.singlevaluelist | AttributeDatatype.multivaluelist:
            numbers = _numbers(text)
            single = attribute.datatype is AttributeDatatype.singlevaluelist
            shown = min(len(attribute.values), MAX_MENU)
            if not numbers or (single and len(numbers) > 1) or not all(1 <= n <= shown for n in numbers):
                return None
            return [attribute.values[n - 1].key for n in dict.fromkeys(numbers)]
        case AttributeDatatype.number:
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                return None
            return [text.replace(",", ".")] if number == number and abs(number) != float("inf") else None
        case AttributeDatatype.datetime:
            try:
                return [datetime.fromisoformat(text).isoformat()]
            except ValueError:
                return None
        case _:
            return [text[:MAX_ANSWER_CHARS]] if text else None


def _confirmation(conversation: Conversation, ctx: Context) -> str:
    address = conversation.place.address if conversation.place else ""
    service = conversation.service_name or ""
    for limit in (MAX_PLACE_CHARS, 40, 20):
        text = ctx.say(conversation, texts.CONFIRM) % {
            "service": _cut(service, min(limit, MAX_NAME_CHARS)),
            "address": _cut(address, limit),
        }
        if fits(text):
            break
    return text


def _on_confirmation(conversation: Conversation, word: str, ctx: Context) -> Turn:
    if word in _NO:
        return _cancelled(conversation, ctx)
    if word not in _YES or conversation.place is None or conversation.service_code is None:
        return Turn(
            conversation,
            _joined(ctx.say(conversation, texts.NOT_UNDERSTOOD), _confirmation(conversation, ctx)),
        )
    return Turn(
        conversation,
        "",  # the reply follows intake's answer (`after_submission`)
        Submit(
            conversation_id=conversation.conversation_id,
            service_code=conversation.service_code,
            description=conversation.description or conversation.service_name or conversation.service_code,
            place=conversation.place,
            attributes=dict(conversation.attributes),
            language=conversation.language,
        ),
    )


def _finished(conversation: Conversation, step: Step) -> Conversation:
    """A finished conversation keeps no more than its id, language and times: nothing the resident wrote."""
    return Conversation(
        conversation_id=conversation.conversation_id,
        language=conversation.language,
        step=step,
        started_at=conversation.started_at,
        updated_at=conversation.updated_at,
    )


def _cancelled(conversation: Conversation, ctx: Context) -> Turn:
    done = _finished(conversation, Step.cancelled)
    return Turn(done, ctx.say(done, texts.CANCELLED))
