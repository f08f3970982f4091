"""A console form, turned into the call intake's agent API takes: which route, with which JSON body. Pure: the
API itself checks every value (the same rules as any client's), so an empty field is left out, never guessed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


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
    return ApiCall("/acknowledge", _given(form, "public_note"))


def _status(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/status", _given(form, "status", "public_note"))


def _comment(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/comments", {"text": form.get("text", ""), **_given(form, "visibility")})


def _assign(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "team_id", "staff_id", "note")
    if form.get("to_me"):
        body["staff_id"] = staff_id
    return ApiCall("/assign", body)


def _visit(form: Mapping[str, str], staff_id: str) -> ApiCall:
    body: dict[str, Any] = _given(form, "address", "public_note")
    given = _given(form, "starts_at", "duration_minutes")
    if "starts_at" in given:
        body["starts_at"] = _visit_start(given["starts_at"])
    if "duration_minutes" in given:
        body["duration_minutes"] = (
            int(given["duration_minutes"])
            if given["duration_minutes"].isdigit()
            else given["duration_minutes"]
        )
    return ApiCall("/visits", body)


def _close(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/close", _given(form, "reason", "referred_to", "public_note"))


def _reopen(form: Mapping[str, str], staff_id: str) -> ApiCall:
    return ApiCall("/reopen", _given(form, "reason", "public_note"))


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


def proposed_event(
    action: str, form: Mapping[str, str], *, status_now: str
) -> tuple[str, dict[str, Any]] | None:
    """The event an action's form would put on the log, as the notifier's preview reads it (its type and payload);
    None when the action tells residents nothing (an internal note, an assignment, a merge). The preview is a
    forecast: intake's rules decide the real event when the form is saved."""
    given = _given(form, "public_note", "reason", "referred_to")
    previous = status_now if status_now in _STATUSES else None
    if action in ("acknowledge", "status", "close", "reopen"):
        status = {"acknowledge": "acknowledged", "close": "closed", "reopen": "open"}.get(
            action, form.get("status", "")
        )
        if status not in _STATUSES:
            return None
        payload: dict[str, Any] = {"status": status, "previous_status": previous, **given}
        if action not in ("close", "reopen"):
            payload.pop("reason", None)
        if action != "close":
            payload.pop("referred_to", None)
        return "request.status.changed", payload
    if action == "comment" and form.get("visibility") == "public" and form.get("text", "").strip():
        return "request.comment.added", {"text": form["text"].strip(), "visibility": "public"}
    return None
