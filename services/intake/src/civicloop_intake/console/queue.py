"""The queue page's pure parts: a request's SLA in words with the time it is due, the bulk form turned into the
command intake's `POST /api/v1/agent/requests/bulk` takes, and its answer sorted for the page. No IO: the API checks
every value (the same rules as a single command), so an empty field is left out, never guessed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicloop_intake.console.actions import UnknownAction

# The SLA's states as the queue says them: words, never colour alone.
SLA_WORDS = {
    "due": "q_sla_due",  # running, on time
    "at_risk": "q_sla_at_risk",  # running, due soon
    "breached": "q_sla_breached",  # late
    "met": "q_sla_met",
    "missed": "q_sla_missed",
}
RUNNING = ("due", "at_risk", "breached")
MAX_SELECTED = 100  # the bulk API's own bound
_NUMBER = re.compile(r"^[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$")
_POSITION = re.compile(r"^\d+:\d+$")

# The bulk actions the queue offers, each the API command's `action`.
BULK_ACTIONS = {
    "acknowledge": "acknowledge",
    "assign": "assign",
    "assign_me": "assign",
    "status": "change_status",
    "close": "close",
}
# A refusal's error code (the API's, as a single command would answer) -> the page's words for it.
REFUSALS = frozenset(
    {
        "unknown_request",
        "merged",
        "closed",
        "not_closed",
        "not_open",
        "no_change",
        "unknown_reason",
        "referral_needed",
        "referral_not_expected",
        "unknown_team",
        "unknown_staff",
        "staff_disabled",
        "staff_cannot_work",
        "staff_not_in_team",
    }
)


@dataclass(frozen=True)
class SlaSummary:
    """What the queue's SLA cell says: the state's text key, and the running target due first (its text key and
    when), when one is running."""

    state: str
    word: str
    target: str | None = None  # "q_due_acknowledge" or "q_due_resolve"
    due_at: datetime | None = None


def sla_summary(sla: Mapping[str, Any] | None) -> SlaSummary | None:
    """The SLA of an agent view row (`sla`: state, acknowledge and resolve targets) in words; None without a
    target (no SLA row yet, or a category without one). The due time shown is the earliest of the running targets
    (not done, with a due instant): the one that makes the state."""
    if not sla or sla.get("state") not in SLA_WORDS:
        return None
    state = str(sla["state"])
    target, due_at = None, None
    if state in RUNNING:
        running = []
        for name in ("acknowledge", "resolve"):
            t = sla.get(name) or {}
            if t.get("done_at") is None and t.get("due_at"):
                running.append((_instant(t["due_at"]), f"q_due_{name}"))
        if running:
            due_at, target = min(running)
    return SlaSummary(state, SLA_WORDS[state], target, due_at)


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def selected_numbers(values: Iterable[str]) -> list[str]:
    """The request numbers ticked on the page, upper case, each once, in order; anything else left out."""
    chosen: list[str] = []
    for value in values:
        number = value.strip().upper()
        if _NUMBER.match(number) and number not in chosen:
            chosen.append(number)
    return chosen[:MAX_SELECTED]


def _given(form: Mapping[str, str], **names: str) -> dict[str, str]:
    """The filled-in fields, trimmed, each under the API's name (`api_name=form_name`)."""
    return {api: value for api, name in names.items() if (value := form.get(name, "").strip())}


def bulk_command(action: str, form: Mapping[str, str], *, staff_id: str) -> dict[str, Any]:
    """The bulk form's `action` (the button pressed) and its fields as the API's command body."""
    if action == "acknowledge":
        return {"action": "acknowledge", **_given(form, public_note="ack_note")}
    if action == "status":
        return {
            "action": "change_status",
            "status": form.get("new_status", ""),
            **_given(form, public_note="status_note"),
        }
    if action in ("assign", "assign_me"):
        body: dict[str, Any] = {"action": "assign", **_given(form, team_id="team_id", staff_id="staff_id")}
        if action == "assign_me":
            body["staff_id"] = staff_id
        return body
    if action == "close":
        return {
            "action": "close",
            **_given(form, reason="reason", referred_to="referred_to", public_note="close_note"),
        }
    raise UnknownAction(action)


@dataclass(frozen=True)
class BulkItem:
    number: str
    outcome: str  # done, again, refused
    reason: str | None = None  # the page's text key for a refusal
    detail: str | None = None  # the API's own words, when it has no key
    after: str | None = None  # its event's log position, for the request's page to read


@dataclass(frozen=True)
class BulkOutcome:
    action: str
    items: list[BulkItem] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.outcome in ("done", "again"))

    @property
    def refused(self) -> int:
        return sum(1 for i in self.items if i.outcome == "refused")

    def positions(self) -> list[str]:
        """The latest position per partition of the events made: read after these, the queue shows them all."""
        latest: dict[int, int] = {}
        for item in self.items:
            if item.after:
                partition, offset = (int(p) for p in item.after.split(":"))
                latest[partition] = max(offset, latest.get(partition, -1))
        return [f"{p}:{o}" for p, o in sorted(latest.items())]


def bulk_outcome(action: str, results: Sequence[Mapping[str, Any]]) -> BulkOutcome:
    """The API's answer (`results`: a result per request) as the page lists it."""
    items = []
    for r in results:
        number = str(r.get("request_number", ""))
        outcome = str(r.get("outcome", ""))
        if outcome in ("done", "again"):
            position = r.get("position") or {}
            after = f"{position.get('partition')}:{position.get('offset')}" if position else None
            items.append(BulkItem(number, outcome, after=after if after and _POSITION.match(after) else None))
        else:
            error = r.get("error")
            items.append(
                BulkItem(
                    number,
                    "refused",
                    reason=f"q_why_{error}" if error in REFUSALS else None,
                    detail=None if error in REFUSALS else str(r.get("detail") or error or ""),
                )
            )
    return BulkOutcome(action, items)
