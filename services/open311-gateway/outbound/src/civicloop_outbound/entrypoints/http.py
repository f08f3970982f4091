"""The outbound worker's HTTP app: ops endpoints at the root (`/healthz`, `/readyz`, `/metrics`) and the admin API of
outbound sending, under the Open311 base path, for staff (admins and auditors) of one jurisdiction: a staff access
token verified by the shared verifier, like the gateway's catalogue API (401 without a valid one, 403 for another
role or another jurisdiction):

* `GET /open311/v2/admin/outbound/bodies.json[?jurisdiction_id=]` — per body of the token's jurisdiction: queued,
  retrying, sent, given up, paused, the oldest queued item's age and the last error.
* `POST /open311/v2/admin/outbound/bodies/{body_id}/pause` and `.../resume` (admins): `entrypoints.body_admin`.

`create_app` builds only routes on the service skeleton (`civicloop_runtime.app`; its own errors, the 413 and the
per-client rate limit's 429, in plain JSON); `bootstrap` opens the pool and producer and starts sending in the
lifespan.
"""

from __future__ import annotations

import logging
from functools import partial
from importlib.metadata import version
from typing import Annotated, Any

import psycopg
from civicloop_open311.http import install_open311_error_handlers
from civicloop_runtime import process as runtime_process
from civicloop_runtime.app import Shed, json_error, running_service, service_app
from civicloop_runtime.rate_limits import client_rate_limit
from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused, install_staff_verifier, require_staff
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from psycopg_pool import PoolTimeout

from civicloop_outbound.bootstrap import SERVICE, OutboundService, bootstrap
from civicloop_outbound.entrypoints.body_admin import body_admin
from civicloop_outbound.service_layer.status import body_statuses
from civicloop_outbound.settings import OPEN311_BASE_PATH, OutboundSettings

log = logging.getLogger("civicloop.outbound.http")


Staff = Annotated[StaffPrincipal, Depends(require_staff(Role.admin, Role.auditor))]
router = APIRouter(prefix="/admin/outbound", tags=["admin"], responses=STAFF_RESPONSES)
open311 = APIRouter(prefix=OPEN311_BASE_PATH)


@router.get("/bodies.json")
async def list_body_statuses(
    request: Request, staff: Staff, jurisdiction_id: str | None = Query(default=None, max_length=64)
) -> list[dict[str, Any]]:
    """Per body: what is queued, retrying, sent and given up, whether it is paused, the oldest queued item's age.
    A token is for one jurisdiction: without `jurisdiction_id`, the token's."""
    jurisdiction_id = jurisdiction_id or staff.jurisdiction_id
    if not staff.acts_for(jurisdiction_id):
        raise StaffRefused(403, "forbidden", "this token is for another jurisdiction")
    service: OutboundService = running_service(request)
    async with service.pool.connection() as conn:
        return [s.as_json() for s in await body_statuses(conn, jurisdiction_id)]


open311.include_router(router)
open311.include_router(body_admin)


def create_app(
    settings: OutboundSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The worker's app on the service skeleton; `adapters` go to `bootstrap` (tests pass a pool, senders...). The
    admin API admits staff through the verifier from the settings (`staff_verifier` replaces it, for tests)."""
    settings = settings or OutboundSettings()
    app = service_app(
        title="CivicLoop outbound",
        version=version("civicloop-open311-outbound"),
        summary="Sending reports to the bodies that handle them: the admin status of every body's queue.",
        start=partial(bootstrap, settings, **adapters),
        routers=(open311,),
        max_body_bytes=settings.max_body_bytes,
        shedding=Shed.from_settings(settings),
        rate_limit=client_rate_limit(settings, json_error),  # before the bearer token is checked
    )
    app.state.settings = settings
    install_staff_verifier(app, staff_verifier or settings.staff_verifier_or_closed(settings.env))
    install_open311_error_handlers(
        app, base_path=OPEN311_BASE_PATH, unavailable=(psycopg.OperationalError, PoolTimeout)
    )
    return app


def app_from_environment() -> FastAPI:
    """For `civicloop-outbound run`: the process set up too (JSON logs, traces over OTLP when configured)."""
    return runtime_process.app_from_environment(SERVICE, OutboundSettings, create_app)
