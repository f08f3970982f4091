"""The jurisdiction's SLA definition: an admin replaces it whole (`jurisdiction.sla.defined`, the admin as actor)
and admins and auditors read the one in force. Always the token's own jurisdiction: there is no path parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

from civicloop_events.payloads.service_levels import SlaDefined
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from civicloop_intake.bootstrap import StaffServices
from civicloop_intake.domain.sla_definitions import SlaDefinitionRejected
from civicloop_intake.entrypoints.signin_routes import get_staff
from civicloop_intake.service_layer.sla_definitions import DefinedSla, SlaAdmin

sla_router = APIRouter(
    prefix="/api/v1/staff/sla",
    tags=["SLA definitions"],
    responses={**STAFF_RESPONSES, 400: {"description": "the body is not readable JSON"}},
)

Admin = Annotated[StaffPrincipal, Depends(require_staff(Role.admin))]
Reader = Annotated[StaffPrincipal, Depends(require_staff(Role.admin, Role.auditor))]


async def get_sla(staff: Annotated[StaffServices, Depends(get_staff)]) -> SlaAdmin:
    if staff.sla is None:
        raise RuntimeError("SLA definitions need intake's database")
    return staff.sla


Sla = Annotated[SlaAdmin, Depends(get_sla)]


class SlaDefinedRead(BaseModel):
    changed: bool
    event_id: UUID | None = None  # the event published; none when the definition was in force already


class SlaInForce(BaseModel):
    jurisdiction_id: str
    definition: SlaDefined
    event_id: UUID
    defined_by: str  # the actor: `agent:<staff id>` (an admin) or `system:staff-cli:<operator>`
    defined_at: datetime

    @classmethod
    def of(cls, defined: DefinedSla) -> SlaInForce:
        return cls(
            jurisdiction_id=defined.jurisdiction_id,
            definition=defined.definition,
            event_id=defined.event_id,
            defined_by=f"{defined.actor.kind.value}:{defined.actor.id}",
            defined_at=defined.defined_at,
        )


@sla_router.put(
    "",
    response_model=SlaDefinedRead,
    responses={
        422: {"description": "an unknown time zone or category, or a definition the contract refuses"}
    },
)
async def define_sla(body: SlaDefined, admin: Admin, sla: Sla) -> SlaDefinedRead:
    """Replace the jurisdiction's SLA definition (opening hours, time zone, holidays, targets per category)."""
    event = await sla.define(body, jurisdiction_id=admin.jurisdiction_id, by=admin)
    return SlaDefinedRead(changed=event is not None, event_id=event.event_id if event else None)


@sla_router.get("", response_model=SlaInForce, responses={404: {"description": "no SLA defined yet"}})
async def read_sla(reader: Reader, sla: Sla) -> SlaInForce | JSONResponse:
    """The definition in force (as folded from the log: a moment after a change is published)."""
    defined = await sla.current(reader.jurisdiction_id)
    if defined is None:
        return JSONResponse(
            {"error": "not_found", "detail": "this jurisdiction has no SLA defined"}, status_code=404
        )
    return SlaInForce.of(defined)


ErrorFn = Callable[[int, str, str, Request], JSONResponse]


def install_sla_errors(app: FastAPI, error: ErrorFn) -> None:
    @app.exception_handler(SlaDefinitionRejected)
    async def rejected(request: Request, exc: SlaDefinitionRejected) -> JSONResponse:
        return error(422, exc.problem.value, str(exc), request)
