"""`POST /api/cron/sweep-pending`: one sweep of intake's outboxes now, for selfheal (or any cron runner) that saw a
submission left pending too long on intake's `/metrics`. Admitted by the deployment's cron token or an admin, like
selfheal's own cron route (`civicloop_runtime.cron`)."""

from __future__ import annotations

from typing import Annotated

from civicloop_runtime.app import running_service
from civicloop_runtime.cron import CronCaller, require_cron_or_staff
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused, require_staff
from fastapi import APIRouter, Depends, Request

from civicloop_intake.bootstrap import Intake, pending_sweeper

SWEEP_PENDING_PATH = "/api/cron/sweep-pending"
CRON_TOKEN_REF = "selfheal.cron-token"  # noqa: S105 - the secret's name (CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN)

router = APIRouter()


def _refused(status: int, error: str, detail: str) -> Exception:
    return StaffRefused(status, error, detail)


_cron_or_admin = require_cron_or_staff(CRON_TOKEN_REF, require_staff(Role.admin), refused=_refused)


@router.post(
    SWEEP_PENDING_PATH,
    tags=["operations"],
    responses={**STAFF_RESPONSES, 403: {"description": "A wrong cron token, or a staff token without admin"}},
)
async def sweep_pending(
    request: Request, caller: Annotated[CronCaller[StaffPrincipal], Depends(_cron_or_admin)]
) -> dict[str, int]:
    """Publish the submissions, corrections, merges and staff commands pending longer than
    `CIVICLOOP_SWEEP_PENDING_AFTER_S`, now; how many were published."""
    intake: Intake = running_service(request)
    return {"published": await pending_sweeper(intake).sweep_once()}
