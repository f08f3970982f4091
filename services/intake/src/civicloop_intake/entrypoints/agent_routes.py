"""Staff commands on a request: `/api/v1/agent/requests/{number}/...`, each one event whose actor is the verified
staff member (agent or supervisor), checked against the request's state by `domain.work_commands`.

Every command is kept under its `Idempotency-Key` (the client's, or one the server makes and returns): the same key
and body answer again with 200 and put nothing new on the log; the same key with another body is 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from civicloop_staff.roles import StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from civicloop_intake.bootstrap import Intake
from civicloop_intake.domain.work_commands import (
    VISIT_ID_PATTERN,
    Acknowledge,
    Assign,
    CancelVisit,
    ChangeCategory,
    ChangePriority,
    ChangeStatus,
    Close,
    Comment,
    Reopen,
    RescheduleVisit,
    ScheduleVisit,
    WorkCommand,
)
from civicloop_intake.domain.work_policy import Reason, ReplyTemplate
from civicloop_intake.entrypoints.models import ErrorRead, PositionRead, ValidationErrorRead
from civicloop_intake.entrypoints.routes import (
    _MALFORMED_BODY,
    IDEMPOTENCY_HEADER,
    IdempotencyKey,
    IntakeDep,
    _answered,
    _command_responses,
    _idempotency_key,
)
from civicloop_intake.entrypoints.staff_auth import ReadingStaff, WorkingStaff
from civicloop_intake.service_layer.work import BulkItem, do_bulk, do_work

work_router = APIRouter(prefix="/api/v1/agent", tags=["agents"])

Number = Annotated[str, Path(min_length=1, max_length=32, description="the request number, e.g. 7K3D-Q9XA")]
VisitId = Annotated[
    str,
    Path(
        min_length=1, max_length=64, pattern=VISIT_ID_PATTERN, description="the visit, as scheduling named it"
    ),
]


class WorkRead(BaseModel):
    request_number: str = Field(examples=["7K3D-Q9XA"])
    event_id: str
    event_type: str = Field(
        examples=["request.status.changed"], description="the event the command put on the log"
    )
    position: PositionRead


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **STAFF_RESPONSES,
    **_command_responses(
        WorkRead,
        "a retry: the command this Idempotency-Key already put on the log, answered again",
        {
            404: {
                "model": ErrorRead,
                "description": "unknown_request (or another jurisdiction's), unknown_visit",
            },
            409: {
                "model": ErrorRead,
                "description": "the request's state refuses it (merged, closed, not_closed, not_open, no_change), "
                "or idempotency_key_reused",
            },
            422: {
                "model": ValidationErrorRead,
                "description": "a malformed body, or a rule on its values (unknown_reason, referral_needed, "
                "referral_not_expected, unknown_template, visit_in_the_past, no_address, unknown_category)",
            },
            503: {
                "model": ErrorRead,
                "description": "the event log did not acknowledge; retry with the same key",
            },
        },
    ),
}


@dataclass(frozen=True)
class WorkCall:
    """What every command route shares: which request, who asks, under which key."""

    number: str
    staff: StaffPrincipal
    intake: Intake
    request: Request
    response: Response
    idempotency_key: str | None

    async def run(self, cmd: Any) -> WorkRead:
        key = _idempotency_key(self.request, self.idempotency_key)
        receipt = await do_work(
            cmd, number=self.number, staff=self.staff, idempotency_key=key, ctx=self.intake.work
        )
        position = _answered(self.response, receipt.position, created=receipt.created)
        self.response.headers[IDEMPOTENCY_HEADER] = key
        return WorkRead(
            request_number=receipt.request_number,
            event_id=str(receipt.event_id),
            event_type=receipt.event_type,
            position=position,
        )


async def _work_call(
    number: Number,
    staff: WorkingStaff,
    intake: IntakeDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> WorkCall:
    return WorkCall(number, staff, intake, request, response, idempotency_key)


Work = Annotated[WorkCall, Depends(_work_call)]


def _command_route(path: str, summary: str) -> Any:
    return work_router.post(
        "/requests/{number}" + path,
        status_code=201,
        response_model=WorkRead,
        responses=_RESPONSES,
        summary=summary,
    )


@_command_route("/acknowledge", "Acknowledge: open -> acknowledged, with an optional public note")
async def acknowledge(body: Acknowledge, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route("/status", "Change the status of an open request (acknowledged, in_progress, on_hold)")
async def change_status(body: ChangeStatus, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route("/close", "Close with a reason from the jurisdiction's list")
async def close(body: Close, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route("/reopen", "Reopen a closed request with a reason")
async def reopen(body: Reopen, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route(
    "/assign", "Assign to a team of the jurisdiction, an active agent or supervisor of it, or both"
)
async def assign(body: Assign, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route(
    "/comments", "A public comment to the resident, or an internal note (never public, never sent)"
)
async def comment(body: Comment, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route("/visits", "Schedule a visit: start, duration, the address the resident reads")
async def schedule_visit(body: ScheduleVisit, work: Work) -> WorkRead:
    return await work.run(body)


class RescheduleBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    starts_at: AwareDatetime
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60, description="kept when left out")
    public_note: str | None = Field(default=None, min_length=1, max_length=4000)


class CancelBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    public_note: str | None = Field(default=None, min_length=1, max_length=4000)


@_command_route("/visits/{visit_id}/reschedule", "Move a planned visit")
async def reschedule_visit(body: RescheduleBody, visit_id: VisitId, work: Work) -> WorkRead:
    return await work.run(RescheduleVisit(visit_id=visit_id, **body.model_dump()))


@_command_route("/visits/{visit_id}/cancel", "Cancel a planned visit")
async def cancel_visit(body: CancelBody, visit_id: VisitId, work: Work) -> WorkRead:
    return await work.run(CancelVisit(visit_id=visit_id, **body.model_dump()))


@_command_route("/priority", "Change the priority (low, normal, high)")
async def change_priority(body: ChangePriority, work: Work) -> WorkRead:
    return await work.run(body)


@_command_route("/category", "Move to another category of the catalogue: routing runs again")
async def change_category(body: ChangeCategory, work: Work) -> WorkRead:
    return await work.run(body)


# -- bulk -------------------------------------------------------------------------------------------------------------

MAX_BULK = 100


class BulkCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_numbers: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=MAX_BULK, description="the selection; each request gets its own event"
    )
    command: WorkCommand = Field(description="the command, with its `action` (e.g. `acknowledge`, `close`)")


class BulkItemRead(BaseModel):
    request_number: str
    outcome: str = Field(
        description="`done` (an event on the log), `again` (done by an earlier try) or `refused`"
    )
    error: str | None = Field(default=None, description="refused: the rule, as a single command would answer")
    detail: str | None = None
    event_id: str | None = None
    position: PositionRead | None = None


class BulkRead(BaseModel):
    results: list[BulkItemRead]


@work_router.post(
    "/requests/bulk",
    response_model=BulkRead,
    responses={
        **STAFF_RESPONSES,
        400: _MALFORMED_BODY,
        409: {
            "model": ErrorRead,
            "description": "idempotency_key_reused: the key came with another selection",
        },
        503: {
            "model": ErrorRead,
            "description": "the event log did not acknowledge; retry with the same key",
        },
    },
    summary="One command over a selection: a result per request",
)
async def bulk(
    body: BulkCommand,
    staff: WorkingStaff,
    intake: IntakeDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BulkRead:
    """The command on each request in turn, each its own event under a key made from the call's `Idempotency-Key`
    and the request number: a retry with the same key repeats no item that was done."""
    key = _idempotency_key(request, idempotency_key)
    items = await do_bulk(
        body.command, numbers=body.request_numbers, staff=staff, idempotency_key=key, ctx=intake.work
    )
    response.headers[IDEMPOTENCY_HEADER] = key
    return BulkRead(results=[_bulk_item(i) for i in items])


def _bulk_item(item: BulkItem) -> BulkItemRead:
    if item.receipt is None:
        return BulkItemRead(
            request_number=item.request_number,
            outcome="refused",
            error=item.problem.value if item.problem else None,
            detail=item.detail,
        )
    r = item.receipt
    return BulkItemRead(
        request_number=r.request_number,
        outcome="done" if r.created else "again",
        event_id=str(r.event_id),
        position=PositionRead(partition=r.position.partition, offset=r.position.offset),
    )


# -- the lists commands are checked against ----------------------------------------------------------------------------


class WorkPolicyRead(BaseModel):
    close_reasons: list[Reason]
    reopen_reasons: list[Reason]
    templates: list[ReplyTemplate]


@work_router.get("/work-policy", response_model=WorkPolicyRead, responses=STAFF_RESPONSES)
async def work_policy(
    staff: ReadingStaff,
    intake: IntakeDep,
    action: Annotated[str | None, Query(max_length=40, description="only templates for this action")] = None,
    service_code: Annotated[
        str | None, Query(max_length=64, description="only templates for this category")
    ] = None,
) -> WorkPolicyRead:
    """The close and reopen reasons a command may give, and the reply templates (with their placeholders)."""
    policy = intake.work_policy
    return WorkPolicyRead(
        close_reasons=list(policy.close_reasons),
        reopen_reasons=list(policy.reopen_reasons),
        templates=policy.templates_for(action=action, service_code=service_code),
    )
