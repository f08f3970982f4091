"""Staff commands on a request and the rules that accept or refuse them against its current state (no IO).

Each command becomes one event whose actor is the verified staff member (`decide` returns its payload). A command
acts on a request of the staff member's own jurisdiction (another jurisdiction's request is answered as unknown),
never on a merged duplicate (its original is the one worked). What a resident may read goes in `public_note`;
`note` is for staff only.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from civicloop_events import Actor, Event
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    EventPayload,
    Priority,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_events.payloads.work import MAX_VISIT_MINUTES
from civicloop_staff.roles import WORKS_REQUESTS
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from civicloop_intake.domain.assignees import Assignee
from civicloop_intake.domain.rejections import CommandRejected
from civicloop_intake.domain.submissions import KeptCommand
from civicloop_intake.domain.work_policy import ReasonCode, WorkPolicy, render
from civicloop_intake.domain.worked_requests import Visit, WorkedRequest

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
VISIT_ID_PATTERN = _ID  # what a visit id may be: routes refuse anything else before a command is built
PublicNote = Annotated[
    str | None, Field(default=None, min_length=1, max_length=4000, description="shown to the resident")
]
StaffNote = Annotated[
    str, Field(default="", max_length=2000, description="for staff; never shown to residents")
]
TemplateId = Annotated[
    str | None,
    Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="a reply template for this action and category: its text becomes the public note",
    ),
]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Acknowledge(_Command):
    """The request was seen and will be worked: `open` -> `acknowledged`."""

    action: Literal["acknowledge"] = "acknowledge"
    public_note: PublicNote = None
    template_id: TemplateId = None


class ChangeStatus(_Command):
    """Move an open request along (closing and reopening have commands of their own, with a reason)."""

    action: Literal["change_status"] = "change_status"
    status: Literal[RequestStatus.acknowledged, RequestStatus.in_progress, RequestStatus.on_hold]
    public_note: PublicNote = None
    template_id: TemplateId = None


class Close(_Command):
    """Close with a reason from the jurisdiction's list; `not_ours`-like reasons name whom to turn to."""

    action: Literal["close"] = "close"
    reason: ReasonCode = Field(description="a close reason code (GET /api/v1/agent/work-policy)")
    referred_to: str | None = Field(default=None, min_length=1, max_length=200)
    public_note: PublicNote = None
    template_id: TemplateId = None


class Reopen(_Command):
    action: Literal["reopen"] = "reopen"
    reason: ReasonCode = Field(description="a reopen reason code (GET /api/v1/agent/work-policy)")
    public_note: PublicNote = None
    template_id: TemplateId = None


class Assign(_Command):
    """Give the request to a team, a staff member, or both (what is left out is unassigned)."""

    action: Literal["assign"] = "assign"
    team_id: str | None = Field(default=None, pattern=_ID)
    staff_id: str | None = Field(default=None, pattern=_ID)
    note: StaffNote = ""


class Comment(_Command):
    """A public comment (the resident reads it) or an internal note (never public, never sent)."""

    action: Literal["comment"] = "comment"
    text: str | None = Field(
        default=None, min_length=1, max_length=4000, description="the comment; or a `template_id` instead"
    )
    visibility: CommentVisibility = Field(
        description="`public`: the resident reads it; `internal`: staff only"
    )
    template_id: TemplateId = None

    @model_validator(mode="after")
    def _text_or_template(self) -> Comment:
        if self.text is None and self.template_id is None:
            raise ValueError("a comment has a text or a template_id")
        return self


class ScheduleVisit(_Command):
    action: Literal["schedule_visit"] = "schedule_visit"
    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=1, le=MAX_VISIT_MINUTES)
    address: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="as the resident should read it; the request's public address when left out",
    )
    public_note: PublicNote = None
    template_id: TemplateId = None


class RescheduleVisit(_Command):
    action: Literal["reschedule_visit"] = "reschedule_visit"
    visit_id: str = Field(pattern=_ID)
    starts_at: AwareDatetime
    duration_minutes: int | None = Field(
        default=None, ge=1, le=MAX_VISIT_MINUTES, description="kept when left out"
    )
    public_note: PublicNote = None


class CancelVisit(_Command):
    action: Literal["cancel_visit"] = "cancel_visit"
    visit_id: str = Field(pattern=_ID)
    public_note: PublicNote = None


class ChangePriority(_Command):
    action: Literal["change_priority"] = "change_priority"
    priority: Priority
    note: StaffNote = ""


class ChangeCategory(_Command):
    """Move the request to another category: routing runs again on it."""

    action: Literal["change_category"] = "change_category"
    service_code: str = Field(min_length=1, max_length=64)
    note: StaffNote = ""
    public_note: PublicNote = None


WorkCommand = Annotated[
    Acknowledge
    | ChangeStatus
    | Close
    | Reopen
    | Assign
    | Comment
    | ScheduleVisit
    | RescheduleVisit
    | CancelVisit
    | ChangePriority
    | ChangeCategory,
    Field(discriminator="action"),
]


class WorkProblem(str, enum.Enum):
    unknown_request = "unknown_request"
    merged = "merged"
    closed = "closed"
    not_closed = "not_closed"
    not_open = "not_open"
    no_change = "no_change"
    unknown_reason = "unknown_reason"
    referral_needed = "referral_needed"
    referral_not_expected = "referral_not_expected"
    unknown_template = "unknown_template"
    unknown_visit = "unknown_visit"
    visit_in_the_past = "visit_in_the_past"
    no_address = "no_address"
    unknown_category = "unknown_category"
    unknown_team = "unknown_team"
    unknown_staff = "unknown_staff"
    staff_disabled = "staff_disabled"
    staff_cannot_work = "staff_cannot_work"
    staff_not_in_team = "staff_not_in_team"


class WorkRejected(CommandRejected[WorkProblem]):
    """A staff command refused by a rule; the problem names the rule (the HTTP answer's error code)."""


@dataclass(frozen=True)
class Circumstances:
    """What a decision needs besides the command and the request: the clock, the policy, a new visit's id,
    whether a category the command names is one the catalogue offers, and what the staff store says of whom an
    assignment names (None: nothing, so an assignment naming anyone is refused)."""

    now: datetime
    policy: WorkPolicy
    new_visit_id: str
    category_offered: bool = True
    assignee: Assignee | None = None


def decide(
    cmd: Any, state: WorkedRequest | None, *, number: str, jurisdiction_id: str, at: Circumstances
) -> EventPayload:
    """The event payload `cmd` makes of the request in `state`, or `WorkRejected`."""
    if state is None or state.jurisdiction_id != jurisdiction_id:
        raise WorkRejected(WorkProblem.unknown_request, f"no request {number}")
    if state.merged_into is not None:
        raise WorkRejected(
            WorkProblem.merged,
            f"{number} is merged into {state.merged_into}: work {state.merged_into} instead",
        )
    if isinstance(cmd, Comment):
        return CommentAdded(text=_comment_text(cmd, state, at), visibility=cmd.visibility)
    if isinstance(cmd, Reopen):
        return _reopen(cmd, state, at)
    if isinstance(cmd, CancelVisit):  # a closed request's planned visits are cancelled after it closed
        visit = _visit(cmd.visit_id, state)
        return VisitCancelled(visit_id=visit.visit_id, starts_at=visit.starts_at, public_note=cmd.public_note)
    if state.status is RequestStatus.closed:
        raise WorkRejected(WorkProblem.closed, f"{number} is closed: reopen it first")
    if isinstance(cmd, Acknowledge):
        if state.status is not RequestStatus.open:
            raise WorkRejected(WorkProblem.not_open, f"{number} is {state.status.value}, not open")
        return StatusChanged(
            status=RequestStatus.acknowledged,
            previous_status=state.status,
            public_note=_public_note(cmd, state, at),
        )
    if isinstance(cmd, ChangeStatus):
        if cmd.status is state.status:
            raise WorkRejected(WorkProblem.no_change, f"{number} is {state.status.value} already")
        return StatusChanged(
            status=cmd.status, previous_status=state.status, public_note=_public_note(cmd, state, at)
        )
    if isinstance(cmd, Close):
        return _close(cmd, state, at)
    if isinstance(cmd, Assign):
        if cmd.team_id is None and cmd.staff_id is None:
            raise WorkRejected(WorkProblem.no_change, "an assignment names a team, a staff member or both")
        if (cmd.team_id, cmd.staff_id) == (state.team_id, state.staff_id):
            raise WorkRejected(WorkProblem.no_change, f"{number} is assigned so already")
        _check_assignee(cmd, at.assignee or Assignee())
        return RequestAssigned(
            team_id=cmd.team_id,
            staff_id=cmd.staff_id,
            previous_team_id=state.team_id,
            previous_staff_id=state.staff_id,
            note=cmd.note,
        )
    if isinstance(cmd, ScheduleVisit):
        _in_the_future(cmd.starts_at, at)
        address = cmd.address or state.address
        if address is None:
            raise WorkRejected(
                WorkProblem.no_address, "the request has no address a resident reads: give one"
            )
        values = {"visit_start": readable_moment(cmd.starts_at), "visit_address": address}
        return VisitScheduled(
            visit_id=at.new_visit_id,
            starts_at=cmd.starts_at,
            duration_minutes=cmd.duration_minutes,
            address=address,
            public_note=_public_note(cmd, state, at, **values),
        )
    if isinstance(cmd, RescheduleVisit):
        visit = _visit(cmd.visit_id, state)
        _in_the_future(cmd.starts_at, at)
        duration = cmd.duration_minutes or visit.duration_minutes
        if (cmd.starts_at, duration) == (visit.starts_at, visit.duration_minutes):
            raise WorkRejected(WorkProblem.no_change, f"visit {visit.visit_id} is planned so already")
        return VisitRescheduled(
            visit_id=visit.visit_id,
            starts_at=cmd.starts_at,
            duration_minutes=duration,
            previous_starts_at=visit.starts_at,
            address=visit.address,
            public_note=cmd.public_note,
        )
    if isinstance(cmd, ChangePriority):
        if cmd.priority is state.priority:
            raise WorkRejected(WorkProblem.no_change, f"{number} has priority {state.priority.value} already")
        return PriorityChanged(priority=cmd.priority, previous_priority=state.priority, note=cmd.note)
    if isinstance(cmd, ChangeCategory):
        if cmd.service_code == state.service_code:
            raise WorkRejected(WorkProblem.no_change, f"{number} is in {state.service_code} already")
        if not at.category_offered:
            raise WorkRejected(WorkProblem.unknown_category, f"no active category {cmd.service_code}")
        return CategoryChanged(
            service_code=cmd.service_code,
            previous_service_code=state.service_code,
            note=cmd.note,
            public_note=cmd.public_note,
        )
    raise TypeError(f"not a staff command: {type(cmd).__name__}")


def _close(cmd: Close, state: WorkedRequest, at: Circumstances) -> StatusChanged:
    reason = at.policy.close_reason(cmd.reason)
    if reason is None:
        codes = ", ".join(r.code for r in at.policy.close_reasons)
        raise WorkRejected(WorkProblem.unknown_reason, f"close reasons are: {codes}")
    if reason.needs_referral and cmd.referred_to is None:
        raise WorkRejected(WorkProblem.referral_needed, f"closing as {reason.code} names whom to turn to")
    if not reason.needs_referral and cmd.referred_to is not None:
        raise WorkRejected(WorkProblem.referral_not_expected, f"closing as {reason.code} refers to no one")
    return StatusChanged(
        status=RequestStatus.closed,
        previous_status=state.status,
        reason=reason.code,
        referred_to=cmd.referred_to,
        public_note=_public_note(cmd, state, at, reason=reason.label, referred_to=cmd.referred_to),
    )


def _reopen(cmd: Reopen, state: WorkedRequest, at: Circumstances) -> StatusChanged:
    if state.status is not RequestStatus.closed:
        raise WorkRejected(WorkProblem.not_closed, f"{state.request_number} is not closed")
    reason = at.policy.reopen_reason(cmd.reason)
    if reason is None:
        codes = ", ".join(r.code for r in at.policy.reopen_reasons)
        raise WorkRejected(WorkProblem.unknown_reason, f"reopen reasons are: {codes}")
    return StatusChanged(
        status=RequestStatus.open,
        previous_status=RequestStatus.closed,
        reason=reason.code,
        public_note=_public_note(cmd, state, at, reason=reason.label),
    )


def _check_assignee(cmd: Assign, known: Assignee) -> None:
    """A team the jurisdiction has (active); a staff member of it, active, who works requests, in that team."""
    if cmd.team_id is not None and not known.team_active:
        raise WorkRejected(WorkProblem.unknown_team, f"no team {cmd.team_id!r} in this jurisdiction")
    if cmd.staff_id is None:
        return
    account = known.account
    if account is None:
        raise WorkRejected(WorkProblem.unknown_staff, f"no staff member {cmd.staff_id} in this jurisdiction")
    if not account.active:
        raise WorkRejected(WorkProblem.staff_disabled, f"staff member {cmd.staff_id} is disabled")
    if not set(account.roles) & set(WORKS_REQUESTS):
        raise WorkRejected(
            WorkProblem.staff_cannot_work, f"staff member {cmd.staff_id} is neither an agent nor a supervisor"
        )
    if cmd.team_id is not None and cmd.team_id not in account.teams:
        raise WorkRejected(
            WorkProblem.staff_not_in_team, f"staff member {cmd.staff_id} is not in team {cmd.team_id!r}"
        )


def _visit(visit_id: str, state: WorkedRequest) -> Visit:
    visit = state.visit(visit_id)
    if visit is None:
        raise WorkRejected(
            WorkProblem.unknown_visit, f"no planned visit {visit_id} on {state.request_number}"
        )
    return visit


def _in_the_future(starts_at: datetime, at: Circumstances) -> None:
    if starts_at <= at.now:
        raise WorkRejected(WorkProblem.visit_in_the_past, "a visit is planned for a time still to come")


def readable_moment(moment: datetime) -> str:
    """A visit's start as a template's `{visit_start}` reads it."""
    return moment.strftime("%A %d %B %Y at %H:%M")


def _comment_text(cmd: Comment, state: WorkedRequest, at: Circumstances) -> str:
    """The comment's text, or its template rendered against the request; one of the two, not both."""
    text = _public_note(cmd, state, at)
    if text is None:  # the model refuses a comment with neither
        raise ValueError("a comment has a text or a template")
    return text


def _public_note(cmd: Any, state: WorkedRequest, at: Circumstances, **values: str | None) -> str | None:
    """The command's public note (a comment's text), or its template rendered against the request; not both."""
    template_id = getattr(cmd, "template_id", None)
    written = cmd.text if isinstance(cmd, Comment) else cmd.public_note
    if template_id is None:
        return written
    template = at.policy.template(template_id, action=cmd.action, service_code=state.service_code)
    if template is None:
        raise WorkRejected(
            WorkProblem.unknown_template,
            f"no template {template_id} for {cmd.action} in category {state.service_code}",
        )
    if written is not None:
        raise WorkRejected(WorkProblem.unknown_template, "give a public note or a template, not both")
    return render(
        template,
        {
            "request_number": state.request_number,
            "service_code": state.service_code,
            "status": state.status.value,
            **values,
        },
    )


def command_hash(cmd: Any, *, number: str, staff_id: str) -> str:
    """Fingerprint of what was asked, to tell a retry under an Idempotency-Key from a reuse of the key (no
    resident's personal data in it: a note is staff's text about the problem)."""
    canonical = json.dumps(
        {**cmd.model_dump(mode="json"), "number": number, "staff_id": staff_id},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class WorkDone(KeptCommand):
    """A staff command intake accepted, kept with its event under its Idempotency-Key."""


def work_event(
    payload: EventPayload, *, number: str, jurisdiction_id: str, actor: Actor, event_id: UUID
) -> Event[Any]:
    """The event of an accepted command, keyed by its request, the staff member its actor."""
    return Event.create(
        payload,
        request_id=number,
        jurisdiction_id=jurisdiction_id,
        actor=actor,
        source="agent",
        event_id=event_id,
    )
