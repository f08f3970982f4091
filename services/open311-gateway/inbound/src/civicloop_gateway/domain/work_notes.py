"""What Open311 says of staff's work on a request, where the event carries a code rather than words.

* A close or a reopen carries a `reason` code (StatusChanged v2). With no public note, the reason's text is the
  request's `status_notes` (SR-03) and its update's `description` (FX-01). The texts are the built-in reasons'
  (docs/agents.md); a code the gateway does not know reads as itself, made readable. The labels a deployment
  configures live in intake's file, not on the log: the gateway cannot see them, and a replay must give the same
  words, so it keeps its own.
* A close's reason also says which of mySociety's extended statuses the update has (ST-02), so FixMyStreet can tell
  "fixed" from "not ours" from "duplicate".
* A visit is a public change (the resident is told when and where), but where a crew goes is the resident's
  address as they gave it, and when they come says when someone is home: Open311 is read by anyone, so a visit's
  update says only that a visit was planned, moved or cancelled, never its time, address or note (the default
  template's note names the address).
"""

from __future__ import annotations

from civicloop_events.payloads import RequestStatus

NOT_OURS = "not_ours"

CLOSE_TEXTS = {
    "fixed": "Fixed",
    "duplicate": "Duplicate of another report",
    NOT_OURS: "Not ours: referred to another organisation",
    "could_not_locate": "Could not locate the problem",
    "no_action_needed": "No action needed",
}

REOPEN_TEXTS = {
    "not_fixed": "Reopened: the problem is not fixed",
    "recurred": "Reopened: the problem came back",
    "closed_in_error": "Reopened: closed in error",
}

# ST-02: the closes mySociety's extended set names; any other close is `closed`.
_CLOSED_AS = {
    "fixed": "fixed",
    "duplicate": "duplicate",
    NOT_OURS: "not_councils_responsibility",
    "no_action_needed": "no_further_action",
}

VISIT_SCHEDULED = "A visit is planned."
VISIT_RESCHEDULED = "The planned visit has moved."
VISIT_CANCELLED = "The planned visit is cancelled."


def _readable(code: str) -> str:
    return code.replace("_", " ").capitalize()


def reason_text(status: RequestStatus, reason: str | None, referred_to: str | None) -> str | None:
    """The words of a status change's reason: a close's (naming whom it was referred to), a reopen's; None when
    the change gives no reason."""
    if reason is None:
        return None
    if status is RequestStatus.closed:
        if referred_to:
            return f"Not ours: referred to {referred_to}"
        return CLOSE_TEXTS.get(reason) or f"Closed: {_readable(reason).lower()}"
    return REOPEN_TEXTS.get(reason) or f"Reopened: {_readable(reason).lower()}"


def closed_as(reason: str | None) -> str:
    """ST-02: the extended status of a close with this reason."""
    return _CLOSED_AS.get(reason or "", "closed")
