"""A console form, turned into the call intake's agent API takes: which route, with which JSON body. Pure: the
API itself checks every value (the same rules as any client's), so an empty field is left out, never guessed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from civicloop_intake.domain.work_commands import VISIT_ID_PATTERN, readable_moment
from civicloop_intake.domain.work_policy import WorkPolicy, render

VISIT_ID = re.compile(VISIT_ID_PATTERN)


class UnknownAction(Exception):
    """No such console action."""


@dataclass(frozen=True)
class ApiCall:
    path: str  # under /api/v1/agent/requests/{number}
    body: dict[str, Any]


def _given(form: Mapping[str, str], *names: str) -> dict[str, str]:
    """The fields of `names` the agent filled in, trimmed."""
    return {name: value.strip() for name in names if (value := form.get(name, "").strip())}


def _visit_start(value: str) -> str:
    """A `datetime-local` value (no zone) is read as UTC, as the form says; anything else goes on as typed, for
    the API to refuse."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def _acknowledge(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/acknowledge", _given(form, "public_note", "template_id"))


def _status(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/status", _given(form, "status", "public_note", "template_id"))


def _comment(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "text", "visibility", "template_id")
    if "template_id" not in body:
        body.setdefault("text", "")  # neither: the API says what is missing
    return ApiCall("/comments", body)


def _assign(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "team_id", "staff_id", "note")
    if form.get("to_me"):
        body["staff_id"] = staff_id
    return ApiCall("/assign", body)


def _minutes(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _number(value: str) -> float | str:
    """A coordinate as a number; anything else goes on as typed, for the API to refuse."""
    try:
        return float(value)
    except ValueError:
        return value


def _visit(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "address", "public_note", "template_id")
    given = _given(form, "starts_at", "duration_minutes")
    if "starts_at" in given:
        body["starts_at"] = _visit_start(given["starts_at"])
    if "duration_minutes" in given:
        body["duration_minutes"] = _minutes(given["duration_minutes"])
    return ApiCall("/visits", body)


def _visit_path(form: Mapping[str, str], then: str) -> str:
    """`/visits/{visit_id}/{then}`; an id that is not one (a `/`, a `..`) is sent as `-`, which the API refuses."""
    visit_id = form.get("visit_id", "").strip()
    return f"/visits/{visit_id if VISIT_ID.match(visit_id) else '-'}/{then}"


def _reschedule(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "public_note")
    given = _given(form, "starts_at", "duration_minutes")
    body["starts_at"] = _visit_start(given.get("starts_at", ""))
    if "duration_minutes" in given:
        body["duration_minutes"] = _minutes(given["duration_minutes"])
    return ApiCall(_visit_path(form, "reschedule"), body)


def _cancel_visit(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall(_visit_path(form, "cancel"), _given(form, "public_note"))


def _priority(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/priority", {"priority": form.get("priority", "").strip(), **_given(form, "note")})


def _category(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body = {"service_code": form.get("service_code", "").strip()}
    return ApiCall("/category", {**body, **_given(form, "note", "public_note")})


def _location(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = {name: _number(form.get(name, "").strip()) for name in ("lat", "long")}
    return ApiCall("/location", {**body, **_given(form, "address", "note")})


def _close(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/close", _given(form, "reason", "referred_to", "public_note", "template_id"))


def _reopen(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/reopen", _given(form, "reason", "public_note", "template_id"))


def _merge(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/merge", {"original": form.get("original", "").strip(), **_given(form, "note")})


ACTIONS: dict[str, Callable[[Mapping[str, str], str], ApiCall]] = {
    "acknowledge": _acknowledge,
    "status": _status,
    "comment": _comment,
    "assign": _assign,
    "visit": _visit,
    "close": _close,
    "reopen": _reopen,
    "merge": _merge,
    "reschedule": _reschedule,
    "cancel_visit": _cancel_visit,
    "priority": _priority,
    "category": _category,
    "location": _location,
}
# The actions on one planned visit: their forms name it (`visit_id`), one form per visit.
VISIT_ACTIONS = frozenset({"reschedule", "cancel_visit"})
# The console's actions whose command may name a reply template, with the command's `action` the templates answer.
TEMPLATE_ACTIONS: dict[str, str] = {
    "acknowledge": "acknowledge",
    "status": "change_status",
    "close": "close",
    "reopen": "reopen",
    "visit": "schedule_visit",
    "comment": "comment",
}


def api_call(action: str, form: Mapping[str, str], *, staff_id: str) -> ApiCall:
    build = ACTIONS.get(action)
    if build is None:
        raise UnknownAction(action)
    return build(form, staff_id)


def refusal_text(status: int, body: Any) -> str:
    """What the API's refusal says, for the page: its detail, or each field and its message (never the values)."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for problem in detail:
                if isinstance(problem, dict):
                    where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
                    parts.append(
                        f"{where}: {problem.get('msg', '')}" if where else str(problem.get("msg", ""))
                    )
            if parts:
                return "; ".join(parts)
    return f"HTTP {status}"


# -- "who will be notified" -------------------------------------------------------------------------------------------

_STATUSES = ("open", "acknowledged", "in_progress", "on_hold", "closed")


class Incomplete(Exception):
    """The form lacks what its event needs (a start, a visit, an original): nothing to forecast yet."""


@dataclass(frozen=True)
class PlannedVisit:
    visit_id: str
    starts_at: datetime
    duration_minutes: int
    address: str


@dataclass(frozen=True)
class RequestFacts:
    """What a forecast reads of the request, as the agent view shows it."""

    number: str
    status: str
    service_code: str
    address: str | None = None
    visits: tuple[PlannedVisit, ...] = ()

    def visit(self, visit_id: str) -> PlannedVisit | None:
        return next((v for v in self.visits if v.visit_id == visit_id), None)


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_visit_start(value))
    except ValueError:
        raise Incomplete("starts_at") from None
    return parsed


def _note(
    action: str, form: Mapping[str, str], facts: RequestFacts, policy: WorkPolicy, **values: str | None
) -> str | None:
    """The note the resident would read: the one written, else the chosen template filled as intake fills it."""
    written = form.get("text" if action == "comment" else "public_note", "").strip()
    template_id = form.get("template_id", "").strip()
    if written or not template_id or action not in TEMPLATE_ACTIONS:
        return written or None
    template = policy.template(template_id, action=TEMPLATE_ACTIONS[action], service_code=facts.service_code)
    if template is None:
        return None  # saving is refused with why
    known = {"request_number": facts.number, "service_code": facts.service_code, "status": facts.status}
    return render(template, {**known, **values})


def proposed_event(
    action: str, form: Mapping[str, str], *, facts: RequestFacts, policy: WorkPolicy
) -> tuple[str, dict[str, Any]] | None:
    """The event an action's form would put on the log, as the notifier's preview reads it (its type and payload);
    None when the action tells residents nothing (an internal note, an assignment, a priority, a category, a
    location); `Incomplete` when the form lacks what the event needs. The preview is a forecast: intake's rules
    decide the real event when the form is saved."""
    previous = facts.status if facts.status in _STATUSES else None
    if action in ("acknowledge", "status", "close", "reopen"):
        status = {"acknowledge": "acknowledged", "close": "closed", "reopen": "open"}.get(
            action, form.get("status", "")
        )
        if status not in _STATUSES:
            return None
        payload: dict[str, Any] = {"status": status, "previous_status": previous}
        values: dict[str, str | None] = {}
        if action in ("close", "reopen") and (code := form.get("reason", "").strip()):
            payload["reason"] = code
            reason = policy.close_reason(code) if action == "close" else policy.reopen_reason(code)
            values["reason"] = reason.label if reason else code
        if action == "close" and (referred := form.get("referred_to", "").strip()):
            payload["referred_to"] = values["referred_to"] = referred
        if note := _note(action, form, facts, policy, **values):
            payload["public_note"] = note
        return "request.status.changed", payload
    if action == "comment":
        if form.get("visibility") != "public":
            return None
        text = _note(action, form, facts, policy)
        if text is None:
            raise Incomplete("text")
        return "request.comment.added", {"text": text, "visibility": "public"}
    if action == "visit":
        starts_at = _when(form.get("starts_at", ""))
        address = form.get("address", "").strip() or facts.address
        if not address:
            raise Incomplete("address")
        values = {"visit_start": readable_moment(starts_at), "visit_address": address}
        duration = _minutes(form.get("duration_minutes", "").strip())
        if not isinstance(duration, int):
            raise Incomplete("duration_minutes")
        return "request.visit.scheduled", {
            "visit_id": "preview",
            "starts_at": starts_at.isoformat(),
            "duration_minutes": duration,
            "address": address,
            "public_note": _note(action, form, facts, policy, **values),
        }
    if action in VISIT_ACTIONS:
        visit = facts.visit(form.get("visit_id", "").strip())
        if visit is None:
            raise Incomplete("visit_id")
        note = form.get("public_note", "").strip() or None
        if action == "cancel_visit":
            return "request.visit.cancelled", {
                "visit_id": visit.visit_id,
                "starts_at": visit.starts_at.isoformat(),
                "public_note": note,
            }
        duration = form.get("duration_minutes", "").strip()
        return "request.visit.rescheduled", {
            "visit_id": visit.visit_id,
            "starts_at": _when(form.get("starts_at", "")).isoformat(),
            "duration_minutes": _minutes(duration) if duration else visit.duration_minutes,
            "previous_starts_at": visit.starts_at.isoformat(),
            "address": visit.address,
            "public_note": note,
        }
    if action == "merge":
        original = form.get("original", "").strip().upper()
        if not original:
            raise Incomplete("original")
        return "request.merged_as_duplicate", {"original_request_id": original}
    return None
