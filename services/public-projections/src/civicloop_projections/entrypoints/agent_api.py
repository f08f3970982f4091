"""The agents' read API: queues with filters and keyset paging, a request with its full history, service areas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from civicloop_events.payloads import Priority, RequestStatus
from civicloop_events.request_numbers import InvalidRequestNumber
from civicloop_events.request_numbers import parse as canonical_request_number
from civicloop_sla.clock import SlaState
from civicloop_staff.roles import READS_REQUESTS, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from psycopg_pool import AsyncConnectionPool

from civicloop_projections.adapters import agent_views
from civicloop_projections.domain.agent_request import DeliveryState
from civicloop_projections.domain.queries import (
    AgentRequestFilter,
    Bbox,
    Cursor,
    InvalidQueryValue,
    LogPosition,
    dormant_since,
)
from civicloop_projections.entrypoints.read_your_writes import Deadline, poll_until_found, wait_for_positions
from civicloop_projections.entrypoints.schemas import (
    AgentRequestDetail,
    AgentRequestPage,
    QueueCounts,
    ServiceAreaList,
)
from civicloop_projections.settings import ProjectionSettings

# Deny by default: every route here needs a staff token of a role that reads requests (agent, supervisor, auditor).
# One callable for the router and the routes that read the caller: FastAPI then verifies the token once a call.
_reader = require_staff(*READS_REQUESTS)
router = APIRouter(
    prefix="/api/v1/agent",
    tags=["agent"],
    dependencies=[Depends(_reader)],
    responses=STAFF_RESPONSES,
)
Staff = Annotated[StaffPrincipal, Depends(_reader)]
OTHER_JURISDICTION: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "`jurisdiction_id` names another jurisdiction than the token's: staff read their own only"
    }
}
POSITION_HEADER = "CivicLoop-Position"
APPLIED_HEADER = "CivicLoop-Position-Applied"


def _pool(request: Request) -> AsyncConnectionPool:
    return request.app.state.service.pool


def _settings(request: Request) -> ProjectionSettings:
    return request.app.state.service.settings


Pool = Annotated[AsyncConnectionPool, Depends(_pool)]
Settings = Annotated[ProjectionSettings, Depends(_settings)]


def _invalid(location: str, parameter: str, message: str, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own error shape, naming the parameter."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (location, parameter), "msg": message, "input": value}]
    )


def _positions(
    header: Annotated[
        str | None,
        Header(
            alias=POSITION_HEADER,
            description="`<partition>:<offset>` returned by a command; wait until applied",
        ),
    ] = None,
    after: Annotated[str | None, Query(description="same as the CivicLoop-Position header")] = None,
) -> list[LogPosition]:
    positions = []
    for location, parameter, value in (("header", POSITION_HEADER, header), ("query", "after", after)):
        if value is None:
            continue
        try:
            positions.append(LogPosition.parse(value, parameter=parameter))
        except InvalidQueryValue as exc:
            raise _invalid(location, parameter, str(exc), value) from None
    return positions


Positions = Annotated[list[LogPosition], Depends(_positions)]


async def _wait_for(
    positions: list[LogPosition],
    pool: AsyncConnectionPool,
    settings: ProjectionSettings,
    response: Response,
    deadline: Deadline,
) -> None:
    if positions:
        applied = await wait_for_positions(pool, settings, positions, deadline)
        response.headers[APPLIED_HEADER] = "true" if applied else "false"


def _own_jurisdiction(staff: StaffPrincipal, asked: str | None) -> str:
    """The jurisdiction a read is about: the token's. Naming another is refused (403), never silently ignored, so a
    console that asks for the wrong one finds out."""
    if asked is not None and not staff.acts_for(asked):
        raise HTTPException(403, "staff read the requests of their own jurisdiction only")
    return staff.jurisdiction_id


def _now() -> datetime:
    return datetime.now(UTC)


Now = Annotated[datetime, Depends(_now)]
DORMANT_DAYS = Query(
    ge=1, le=3650, description="no one acted on it (resident, staff, a back-end) for this many days"
)


# Text filters take any text but NUL, which PostgreSQL text cannot hold (a 422, not a failed query).
NO_NUL = r"^[^\x00]*$"


@router.get("/requests", response_model=AgentRequestPage, responses=OTHER_JURISDICTION)
async def list_requests(
    pool: Pool,
    settings: Settings,
    positions: Positions,
    response: Response,
    staff: Staff,
    now: Now,
    status: Annotated[
        list[RequestStatus] | None, Query(description="repeatable: any of these statuses")
    ] = None,
    service_code: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    service_area_id: Annotated[str | None, Query(max_length=120, pattern=NO_NUL)] = None,
    jurisdiction_id: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=NO_NUL,
            description="the token's own (the default); another is refused (403)",
        ),
    ] = None,
    body_id: Annotated[
        str | None,
        Query(max_length=64, pattern=NO_NUL, description="routed to this body, or imported from it"),
    ] = None,
    priority: Annotated[
        list[Priority] | None, Query(description="repeatable: any of these priorities")
    ] = None,
    delivery_state: Annotated[
        list[DeliveryState] | None,
        Query(description="repeatable: any of these states of sending to the body"),
    ] = None,
    bbox: Annotated[str | None, Query(description="min_long,min_lat,max_long,max_lat (WGS84)")] = None,
    since: Annotated[datetime | None, Query(description="updated at or after this ISO 8601 time")] = None,
    merged: Annotated[
        bool | None, Query(description="false: hide duplicates merged into another request")
    ] = None,
    duplicate_suspected: Annotated[
        bool | None, Query(description="true: geo suspects duplicates of this request")
    ] = None,
    outside_jurisdiction: Annotated[
        bool | None, Query(description="true: geo placed the point outside every service area")
    ] = None,
    unresolved: Annotated[
        bool | None, Query(description="true: geo could not place the request (needs placing)")
    ] = None,
    team: Annotated[
        list[str] | None, Query(max_length=20, description="repeatable: held by any of these teams")
    ] = None,
    assignee: Annotated[
        list[str] | None, Query(max_length=20, description="repeatable: worked by any of these staff ids")
    ] = None,
    mine: Annotated[
        bool, Query(description="true: worked by the caller (`assignee=<own staff id>`; not with `assignee`)")
    ] = False,
    unassigned: Annotated[
        bool | None, Query(description="true: no staff member works it (a team may hold it); false: one does")
    ] = None,
    dormant_days: Annotated[int | None, DORMANT_DAYS] = None,
    sla_state: Annotated[
        list[SlaState] | None, Query(description="repeatable: the request's SLA state now is one of these")
    ] = None,
    dormant: Annotated[
        bool | None,
        Query(
            description="true: dormant by the jurisdiction's SLA definition (`dormant_after_days`); false: not"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Requests for agents' queues, most recently updated first, filtered and paged by cursor; the token's
    jurisdiction only."""
    try:
        box = Bbox.parse(bbox) if bbox is not None else None
        after = Cursor.decode(cursor) if cursor is not None else None
    except InvalidQueryValue as exc:
        raise _invalid(
            "query", exc.parameter, str(exc), bbox if exc.parameter == "bbox" else cursor
        ) from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    for name, values in (("team", team), ("assignee", assignee)):
        for value in values or ():
            if not value or "\x00" in value or len(value) > 64:
                raise _invalid("query", name, "1 to 64 characters, no NUL", value)
    if mine and assignee:
        raise _invalid("query", "mine", "mine=true is assignee=<your staff id>: give one or the other", mine)
    jurisdiction = _own_jurisdiction(staff, jurisdiction_id)
    await _wait_for(positions, pool, settings, response, Deadline(settings.read_your_writes_timeout_s))
    query = AgentRequestFilter(
        statuses=tuple(s.value for s in status or ()),
        service_code=service_code,
        service_area_id=service_area_id,
        jurisdiction_id=jurisdiction,
        body_id=body_id,
        priorities=tuple(p.value for p in priority or ()),
        delivery_states=tuple(d.value for d in delivery_state or ()),
        bbox=box,
        since=since,
        merged=merged,
        duplicate_suspected=duplicate_suspected,
        outside_jurisdiction=outside_jurisdiction,
        unresolved=unresolved,
        teams=tuple(team or ()),
        assignees=(str(staff.staff_id),) if mine else tuple(assignee or ()),
        unassigned=unassigned,
        dormant_before=dormant_since(now, dormant_days) if dormant_days is not None else None,
        sla_states=tuple(s.value for s in sla_state or ()),
        sla_dormant=dormant,
        now=now,
    )
    async with pool.connection() as conn:
        items, next_cursor = await agent_views.list_requests(conn, query, limit=limit, cursor=after)
        await agent_views.with_sla(conn, items, now)
    return {"items": items, "next_cursor": next_cursor.encode() if next_cursor else None}


@router.get(
    "/requests/by-external-id",
    response_model=AgentRequestDetail,
    responses={404: {"description": "no request carries this reference"}},
)
async def get_request_by_external_id(
    pool: Pool,
    settings: Settings,
    positions: Positions,
    response: Response,
    staff: Staff,
    now: Now,
    body_id: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[a-z0-9][a-z0-9_.-]*$",
            description="the body whose back-end it is",
        ),
    ],
    external_id: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00]+$",
            description="the back-end's own id for the request",
        ),
    ],
) -> dict[str, Any]:
    """The request a body's back-end knows by `external_id` (imported from it, or sent to it), with its history."""
    deadline = Deadline(settings.read_your_writes_timeout_s)
    await _wait_for(positions, pool, settings, response, deadline)
    async with pool.connection() as conn:
        found = await agent_views.find_by_external_id(
            conn, body_id, external_id, jurisdiction_id=staff.jurisdiction_id
        )
        if found is None:
            raise HTTPException(404, f"no request of body {body_id} with external id {external_id}")
        await _with_history(conn, found, staff, now)
    return found


async def _with_history(conn: Any, found: dict[str, Any], staff: StaffPrincipal, now: datetime) -> None:
    """The request's history, its comments and its SLA now."""
    history = await agent_views.history_of(
        conn, found["request_number"], jurisdiction_id=staff.jurisdiction_id
    )
    found["history"] = history
    found["comments"] = agent_views.comments_in(history)
    await agent_views.with_sla(conn, [found], now)


@router.get(
    "/requests/{number}", response_model=AgentRequestDetail, responses={404: {"description": "unknown"}}
)
async def get_request(
    pool: Pool,
    settings: Settings,
    positions: Positions,
    response: Response,
    staff: Staff,
    now: Now,
    number: Annotated[str, Path(description="request number, XXXX-XXXX, any case")],
) -> dict[str, Any]:
    """One request of the token's jurisdiction with every event of its history, in log order (another
    jurisdiction's request is unknown: 404)."""
    try:
        request_number = canonical_request_number(number)
    except InvalidRequestNumber as exc:
        raise _invalid("path", "number", str(exc), number) from None
    deadline = Deadline(settings.read_your_writes_timeout_s)
    await _wait_for(positions, pool, settings, response, deadline)

    async def find() -> dict[str, Any] | None:
        async with pool.connection() as conn:
            return await agent_views.get_request(conn, request_number, jurisdiction_id=staff.jurisdiction_id)

    found = await poll_until_found(find, deadline)
    if found is None:
        # A 404 says whether the caller's writes were read first: "false" means not yet, so try again.
        applied = response.headers.get(APPLIED_HEADER)
        raise HTTPException(
            404, f"no request {request_number}", headers={APPLIED_HEADER: applied} if applied else None
        )
    async with pool.connection() as conn:
        await _with_history(conn, found, staff, now)
    return found


@router.get(
    "/service-areas",
    response_model=ServiceAreaList,
    response_model_exclude_none=True,
    responses=OTHER_JURISDICTION,
)
async def list_service_areas(
    pool: Pool,
    staff: Staff,
    jurisdiction_id: Annotated[
        str | None,
        Query(max_length=64, description="the token's own (the default); another is refused (403)"),
    ] = None,
    kind: Annotated[
        str | None, Query(max_length=64, description="council_district, neighborhood_council, ...")
    ] = None,
    geometry: Annotated[bool, Query(description="include each area's GeoJSON geometry")] = False,
) -> dict[str, Any]:
    """The current version of each service area of the token's jurisdiction, to filter requests by
    `service_area_id`."""
    jurisdiction = _own_jurisdiction(staff, jurisdiction_id)
    async with pool.connection() as conn:
        items = await agent_views.list_service_areas(
            conn, jurisdiction_id=jurisdiction, kind=kind, with_geometry=geometry
        )
    return {"items": items}


@router.get("/queues", response_model=QueueCounts, responses=OTHER_JURISDICTION)
async def queue_counts(
    pool: Pool,
    settings: Settings,
    positions: Positions,
    response: Response,
    staff: Staff,
    now: Now,
    jurisdiction_id: Annotated[
        str | None,
        Query(max_length=64, description="the token's own (the default); another is refused (403)"),
    ] = None,
    dormant_days: Annotated[int, DORMANT_DAYS] = 14,
) -> dict[str, Any]:
    """How many requests each queue holds, in one call (a console's sidebar): per status, then the open work (not
    closed, merged duplicates left out) in all, the caller's own, unassigned, dormant, and per team, assignee,
    priority, category and service area; and per SLA state now, with the dormant by the jurisdiction's definition. Each count is what `GET /requests` lists with the matching filter."""
    jurisdiction = _own_jurisdiction(staff, jurisdiction_id)
    await _wait_for(positions, pool, settings, response, Deadline(settings.read_your_writes_timeout_s))
    async with pool.connection() as conn:
        counts = await agent_views.queue_counts(
            conn,
            jurisdiction_id=jurisdiction,
            staff_id=str(staff.staff_id),
            dormant_before=dormant_since(now, dormant_days),
            now=now,
        )
    return {"jurisdiction_id": jurisdiction, "dormant_days": dormant_days, "as_of": now, **counts}
