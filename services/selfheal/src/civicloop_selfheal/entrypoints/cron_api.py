"""selfheal's routes: `POST /api/cron/self-heal` (a cron runner with the cron token, or an admin's "run now") and
`GET /api/v1/selfheal/runs` (admins and auditors)."""

from __future__ import annotations

from typing import Annotated, Any

from civicloop_runtime.app import running_service
from civicloop_runtime.cron import CronCaller, require_cron_or_staff
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused, require_staff
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from civicloop_selfheal.adapters.postgres_sweep import latest_runs
from civicloop_selfheal.bootstrap import Selfheal
from civicloop_selfheal.domain.runs import Trigger
from civicloop_selfheal.settings import CRON_TOKEN_REF

SELF_HEAL_PATH = "/api/cron/self-heal"

router = APIRouter()


def _refused(status: int, error: str, detail: str) -> Exception:
    return StaffRefused(status, error, detail)


# The deployment's cron secret: CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN (read at each call).
_cron_or_admin = require_cron_or_staff(CRON_TOKEN_REF, require_staff(Role.admin), refused=_refused)


@router.post(
    SELF_HEAL_PATH,
    tags=["selfheal"],
    responses={
        **STAFF_RESPONSES,
        403: {"description": "A wrong cron token, or a staff token without the admin role"},
        409: {"description": "A sweep is running already (here or in another replica): nothing was started"},
    },
)
async def self_heal(
    request: Request, caller: Annotated[CronCaller[StaffPrincipal], Depends(_cron_or_admin)]
) -> JSONResponse:
    """Run one sweep now and answer what it found and did; 409 while another sweep runs."""
    service: Selfheal = running_service(request)
    if caller.staff is None:
        report = await service.sweep_now(Trigger.cron)
    else:
        report = await service.sweep_now(Trigger.admin, staff_id=str(caller.staff.staff_id))
    if report is None:
        return JSONResponse(
            {"error": "busy", "detail": "a sweep is running; its result will be in the runs"}, status_code=409
        )
    return JSONResponse(report.as_json())


@router.get("/api/v1/selfheal/runs", tags=["selfheal"], responses=STAFF_RESPONSES)
async def runs(
    request: Request, staff: Annotated[StaffPrincipal, Depends(require_staff(Role.admin, Role.auditor))]
) -> dict[str, Any]:
    """The latest sweeps: trigger (and the admin's staff id), when, what each found and did, errors."""
    service: Selfheal = running_service(request)
    listed = await latest_runs(service.pool, limit=service.settings.selfheal_runs_listed)
    return {"runs": [_json(r) for r in listed]}


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k == "run_id" else v)
        for k, v in row.items()
    }
