"""The residents' submissions and the agents' commands (merge a duplicate, place a request); track and resident access
are in `resident_routes`."""

from __future__ import annotations

from typing import Annotated, Any

from civicloop_events import new_event_id
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused
from fastapi import APIRouter, Depends, Header, Path, Request, Response

from civicloop_intake.bootstrap import Intake
from civicloop_intake.domain.commands import IntakeSource, SubmitServiceRequest
from civicloop_intake.domain.corrections import CorrectLocation
from civicloop_intake.domain.merging import MergeDuplicate
from civicloop_intake.domain.qr_codes import qr_link, tracking_page_link
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.entrypoints.models import (
    ErrorRead,
    LocationCorrectionRead,
    MalformedBodyRead,
    MergeRead,
    PositionRead,
    SubmissionLinks,
    SubmissionRead,
    ValidationErrorRead,
)
from civicloop_intake.entrypoints.staff_auth import WorkingStaff, working_staff_of

POSITION_HEADER = "CivicLoop-Position"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TRACK_PATH = "/api/v1/track"  # its route is in resident_routes, limited per client more tightly than the rest


async def get_intake(request: Request) -> Intake:
    # `async`: FastAPI runs a plain `def` dependency in its thread pool, a thread hop on every request.
    return request.app.state.service


IntakeDep = Annotated[Intake, Depends(get_intake)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="makes retries safe: the same key always answers with the same request",
    ),
]
AfterPosition = Annotated[
    str | None,
    Header(
        alias=POSITION_HEADER,
        pattern=r"^\d{1,9}:\d{1,18}$",
        description="the CivicLoop-Position of a write to wait for (read-your-writes)",
    ),
]

router = APIRouter(prefix="/api/v1", tags=["residents"])
agent_router = APIRouter(prefix="/api/v1/agent", tags=["agents"], responses=STAFF_RESPONSES)


_MALFORMED_BODY: dict[str, Any] = {"model": MalformedBodyRead, "description": "the body is not readable JSON"}
_UNACKNOWLEDGED_RETRY: dict[str, Any] = {
    "model": ErrorRead,
    "description": "the event log did not acknowledge; retry with the same key",
}


def _command_responses(
    answer: type[Any], again: str, errors: dict[int | str, dict[str, Any]]
) -> dict[int | str, dict[str, Any]]:
    """The answers of a command route: `answer` for a command made (201) or answered `again` (200), a body that is
    not JSON (400), and the route's own `errors`."""
    return {200: {"model": answer, "description": again}, 400: _MALFORMED_BODY, **errors}


def _idempotency_key(request: Request, given: str | None) -> str:
    """The client's Idempotency-Key, or one the server makes; noted on the request for the error answers."""
    key = given or f"server-{new_event_id()}"
    request.state.idempotency_key = key
    return key


def _answered(response: Response, position: LogPosition, *, created: bool) -> PositionRead:
    """201 for a command this call made, 200 for one answered again; where its event stands, in a header and in
    the body."""
    response.status_code = 201 if created else 200
    response.headers[POSITION_HEADER] = position.token()
    return PositionRead(partition=position.partition, offset=position.offset)


def track_link(number: str) -> str:
    """Where the resident follows the request: POST `{number, phone}` there (resident_routes)."""
    return TRACK_PATH


@router.post(
    "/requests",
    status_code=201,
    response_model=SubmissionRead,
    responses=_command_responses(
        SubmissionRead,
        "a retry: the request this Idempotency-Key already made",
        {
            401: {"model": ErrorRead, "description": "`source: agent` without a valid staff token"},
            403: {
                "model": ErrorRead,
                "description": "`source: agent` with a token of another role or jurisdiction",
            },
            409: {"model": ErrorRead, "description": "the Idempotency-Key was used with a different body"},
            422: {"model": ValidationErrorRead, "description": "field-by-field problems"},
            503: _UNACKNOWLEDGED_RETRY,
        },
    ),
)
async def submit_request(
    body: SubmitServiceRequest,
    request: Request,
    response: Response,
    intake: IntakeDep,
    idempotency_key: IdempotencyKey = None,
) -> SubmissionRead:
    """Report a problem. Answers once the event log holds the request; retry with the same Idempotency-Key.

    `source: agent` (an agent reporting for a resident) needs a staff token (agent or supervisor) of the request's
    jurisdiction: the staff member is the event's actor. No one else can claim to be an agent."""
    key = _idempotency_key(request, idempotency_key)
    agent_id = None
    if body.source is IntakeSource.agent:
        staff = await working_staff_of(request)
        if not staff.acts_for(body.jurisdiction_id or intake.settings.default_jurisdiction):
            raise StaffRefused(403, "forbidden", "the staff token is for another jurisdiction")
        agent_id = str(staff.staff_id)
    receipt = await intake.submit(body, idempotency_key=key, agent_id=agent_id)
    position = _answered(response, receipt.position, created=receipt.created)
    response.headers[IDEMPOTENCY_HEADER] = key
    response.headers["Location"] = track_link(receipt.request_number)
    return SubmissionRead(
        request_number=receipt.request_number,
        position=position,
        links=SubmissionLinks(
            track=track_link(receipt.request_number),
            track_page=(page := tracking_page_link(intake.settings.public_base_url, receipt.request_number)),
            track_qr=qr_link(page),
        ),
    )


@agent_router.post(
    "/requests/{number}/merge",
    status_code=201,
    response_model=MergeRead,
    responses=_command_responses(
        MergeRead,
        "this merge was already recorded: the same answer again",
        {
            404: {"model": ErrorRead, "description": "no request has this number"},
            409: {"model": ErrorRead, "description": "already_merged (into another original) or merge_cycle"},
            422: {
                "model": ValidationErrorRead,
                "description": "malformed numbers, an unknown original, the request itself, another jurisdiction",
            },
            503: {
                "model": ErrorRead,
                "description": "the event log did not acknowledge; repeat the same merge",
            },
        },
    ),
)
async def merge_request(
    body: MergeDuplicate,
    response: Response,
    intake: IntakeDep,
    staff: WorkingStaff,
    number: Annotated[str, Path(min_length=1, max_length=32, description="the duplicate's request number")],
) -> MergeRead:
    """Merge a duplicate into its original: the duplicate's resident follows the original from then on."""
    receipt = await intake.merge(
        body, number=number, agent_id=str(staff.staff_id), acting_for=staff.jurisdiction_id
    )
    position = _answered(response, receipt.position, created=receipt.created)
    return MergeRead(
        request_number=receipt.duplicate,
        merged_into=receipt.original,
        requested_original=receipt.requested_original,
        position=position,
    )


@agent_router.post(
    "/requests/{number}/location",
    status_code=201,
    response_model=LocationCorrectionRead,
    responses=_command_responses(
        LocationCorrectionRead,
        "a retry: the correction this Idempotency-Key already put on the log, answered again",
        {
            404: {"model": ErrorRead, "description": "no request has this number"},
            409: {
                "model": ErrorRead,
                "description": "merged (the request is a merged duplicate: place its original instead), or "
                "idempotency_key_reused (the key came with a different correction)",
            },
            422: {
                "model": ValidationErrorRead,
                "description": "a malformed number, lat/long out of range, ...",
            },
            503: _UNACKNOWLEDGED_RETRY,
        },
    ),
)
async def correct_location(
    body: CorrectLocation,
    request: Request,
    response: Response,
    intake: IntakeDep,
    staff: WorkingStaff,
    number: Annotated[
        str, Path(min_length=1, max_length=32, description="the request to place, e.g. 7K3D-Q9XA")
    ],
    idempotency_key: IdempotencyKey = None,
) -> LocationCorrectionRead:
    """Place a request by hand (geo could not, or placed it wrongly): publishes `LocationCorrected`, from which geo
    re-places the request and publishes a new `LocationResolved` (method `corrected`) that track then shows.

    **Idempotency**: every call is a new correction (an agent may correct a request again, even back to an earlier
    point), unless it carries an `Idempotency-Key` already used: then the same key with the same body answers 200
    with the first call's answer and puts no second event on the log (a correction the broker never acknowledged is
    published then, as the very same event); the same key with another body is 409 `idempotency_key_reused`.
    Without a key the server makes one and returns it in the `Idempotency-Key` header (and in a 503's body).
    """
    key = _idempotency_key(request, idempotency_key)
    receipt = await intake.correct_location(
        body,
        number=number,
        agent_id=str(staff.staff_id),
        acting_for=staff.jurisdiction_id,
        idempotency_key=key,
    )
    position = _answered(response, receipt.position, created=receipt.created)
    response.headers[IDEMPOTENCY_HEADER] = key
    return LocationCorrectionRead(
        request_number=receipt.request_number,
        lat=body.lat,
        long=body.long,
        address=body.address,
        position=position,
    )
