"""Every resident-facing text, from gettext catalogs chosen by the resident's language, per jurisdiction and event.

The English source texts are the msgids below (`N_` marks them for extraction); each language's `.po` in
`civicloop_notifier/locale/<lang>/LC_MESSAGES/notifier.po` translates them. A jurisdiction words a message its own
way with an entry of the same msgid under its id as the context (`msgctxt "<jurisdiction>"`), in any catalog;
without one the common text is used. Dates are written in the resident's language and the jurisdiction's zone
(Babel).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from civicloop_events.payloads import MessageKind

from civicloop_notifier.domain.notices import Notice

DEFAULT_LANGUAGE = "en"


def N_(msgid: str) -> str:  # noqa: N802 (gettext's name for a deferred translation)
    """Marks a source text for extraction (`pybabel extract -k N_`); it is translated when rendered."""
    return msgid


SUBJECT = N_("Your report %(number)s")
BODIES: Mapping[MessageKind, str] = {
    MessageKind.received: N_("We received your report %(number)s. Thank you."),
    MessageKind.acknowledged: N_("Your report %(number)s was acknowledged: a team is on it."),
    MessageKind.status_changed: N_("Your report %(number)s is now %(status)s."),
    MessageKind.visit_scheduled: N_(
        "A visit for your report %(number)s is planned on %(when)s at %(address)s."
    ),
    MessageKind.visit_rescheduled: N_(
        "The visit for your report %(number)s moved to %(when)s (it was planned on %(previous)s)."
    ),
    MessageKind.visit_cancelled: N_("The visit for your report %(number)s planned on %(when)s is cancelled."),
    MessageKind.closed: N_("Your report %(number)s was closed."),
    MessageKind.reopened: N_("Your report %(number)s was reopened."),
    MessageKind.merged: N_(
        "Your report %(number)s is handled together with report %(original)s: you will hear about that one."
    ),
    MessageKind.comment: N_("News about your report %(number)s:"),
    MessageKind.backend_update: N_("News about your report %(number)s:"),
    MessageKind.late: N_("Your report %(number)s is late, and we owe you an apology."),
}
LATE_REASONS_TEXT: Mapping[str, str] = {
    "unacknowledged": N_("We said a team would take it up by %(due)s, and none has yet."),
    "past_due": N_("We said it would be resolved by %(due)s, and it is not yet."),
    "dormant": N_("Nothing has moved on it for too long."),
    "visit_passed": N_("A visit was planned, and we have not told you since what came of it."),
}
SUPERVISOR_TOLD = N_("A supervisor was told and will follow it up.")
STATUSES: Mapping[str, str] = {
    "open": N_("open"),
    "acknowledged": N_("acknowledged"),
    "in_progress": N_("in progress"),
    "on_hold": N_("on hold"),
    "closed": N_("closed"),
}
REASON = N_("Reason: %(reason)s.")
REFERRED_TO = N_("Please contact %(referred_to)s about it.")
TRACK = N_("Follow it at %(link)s")
SURVEY = N_(
    "Was it fixed? Reply YES or NO, and a score from 0 to 10: how likely are you to recommend this service?"
)
REASON_CONTEXT = "reason"
"""Close and reopen reason codes are translated under this context (`msgctxt "reason"`, msgid the code)."""


class Catalog(Protocol):
    """A gettext catalog (`babel.support.Translations` is one)."""

    def gettext(self, message: str, /) -> str: ...

    def pgettext(self, context: str, message: str, /) -> str | object: ...


@dataclass(frozen=True)
class RenderedText:
    subject: str
    text: str
    language: str


def choose_language(requested: str | None, available: Collection[str]) -> str:
    """The catalog for a BCP 47 tag: the tag itself, then its primary language (`es-US` -> `es`), then English."""
    if requested:
        if requested in available:
            return requested
        primary = requested.split("-", 1)[0].lower()
        if primary in available:
            return primary
    return DEFAULT_LANGUAGE


class Texts:
    """Renders notices for residents from the catalogs (language -> catalog), English being always there."""

    def __init__(self, catalogs: Mapping[str, Catalog]) -> None:
        if DEFAULT_LANGUAGE not in catalogs:
            raise ValueError("the English catalog is required (the fallback of every language)")
        self.catalogs = catalogs

    def _t(self, catalog: Catalog, jurisdiction_id: str, msgid: str) -> str:
        own = catalog.pgettext(jurisdiction_id, msgid)
        return own if isinstance(own, str) and own != msgid else catalog.gettext(msgid)

    def text(self, msgid: str, *, language: str, jurisdiction_id: str) -> str:
        """One source text in the resident's language, the jurisdiction's own wording first (a calendar's texts)."""
        return self._t(self.catalogs[choose_language(language, self.catalogs)], jurisdiction_id, msgid)

    def render(
        self,
        notice: Notice,
        *,
        number: str,
        tracking_link: str,
        language: str,
        jurisdiction_id: str,
        time_zone: str,
    ) -> RenderedText:
        """The subject and text of `notice` for one resident. Only public facts are in a notice."""
        lang = choose_language(language, self.catalogs)
        catalog = self.catalogs[lang]
        locale = Locale.parse(lang.replace("-", "_"))

        def t(msgid: str) -> str:
            return self._t(catalog, jurisdiction_id, msgid)

        def when(value: Any) -> str:
            if not isinstance(value, datetime):
                return str(value)
            return format_datetime(value, format="medium", tzinfo=ZoneInfo(time_zone), locale=locale)

        p = notice.params
        facts: dict[str, Any] = {"number": number, "original": p.get("original", "")}
        facts["when"] = when(p.get("starts_at"))
        facts["previous"] = when(p.get("previous_starts_at"))
        facts["address"] = p.get("address", "")
        status = p.get("status", "")
        facts["status"] = t(STATUSES[status]) if status in STATUSES else status
        lines = [t(BODIES[notice.kind]) % facts]
        late_reason = str(p.get("late_reason") or "")
        if late_reason in LATE_REASONS_TEXT:
            lines.append(t(LATE_REASONS_TEXT[late_reason]) % {"due": when(p.get("due_at") or p.get("since"))})
            lines.append(t(SUPERVISOR_TOLD))
        if p.get("note"):
            lines.append(str(p["note"]))
        if p.get("reason"):
            reason = catalog.pgettext(REASON_CONTEXT, p["reason"])
            label = reason if isinstance(reason, str) else p["reason"]
            lines.append(t(REASON) % {"reason": label.replace("_", " ")})
        if p.get("referred_to"):
            lines.append(t(REFERRED_TO) % {"referred_to": p["referred_to"]})
        lines.append(t(TRACK) % {"link": tracking_link})
        if notice.asks_survey:
            lines.append(t(SURVEY))
        return RenderedText(subject=t(SUBJECT) % facts, text="\n".join(lines), language=lang)


def every_msgid() -> list[str]:
    """Every source text, for the catalogs' completeness check."""
    return [
        SUBJECT,
        *BODIES.values(),
        *STATUSES.values(),
        *LATE_REASONS_TEXT.values(),
        SUPERVISOR_TOLD,
        REASON,
        REFERRED_TO,
        TRACK,
        SURVEY,
    ]
