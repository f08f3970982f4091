"""The outbound worker's HTTP app: ops endpoints at the root (`/healthz`, `/readyz`, `/metrics`) and the admin API of
outbound sending, under the Open311 base path (admin bearer token, like the gateway's catalogue API):

* `GET /open311/v2/admin/outbound/bodies.json[?jurisdiction_id=]` — per body: queued, retrying, sent, given up,
  paused, the oldest queued item's age and the last error.

`create_app` builds only routes; `bootstrap` opens the pool and producer and starts sending in the lifespan.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import psycopg
from civicloop_open311.errors import Open311Error
from civicloop_open311.http import install_open311_error_handlers
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.ops import Check, ops_router
from civicloop_runtime.telemetry import configure_tracing
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from psycopg_pool import PoolTimeout

from civicloop_outbound.bootstrap import SERVICE, OutboundService, bootstrap
from civicloop_outbound.service_layer.status import body_statuses
from civicloop_outbound.settings import OPEN311_BASE_PATH, OutboundSettings

log = logging.getLogger("civicloop.outbound.http")


def require_admin(request: Request) -> None:
    settings: OutboundSettings = request.app.state.settings
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Open311Error(
            401,
            401,
            "Authorization: Bearer <admin token> is required.",
            headers={"WWW-Authenticate": 'Bearer realm="civicloop-open311-admin"'},
        )
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not expected:
        raise Open311Error(403, 403, "The admin API is closed: no admin token is configured.")
    if not hmac.compare_digest(credentials.strip().encode(), expected.encode()):
        raise Open311Error(403, 403, "The admin token is not valid.")


router = APIRouter(prefix="/admin/outbound", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/bodies.json")
async def list_body_statuses(
    request: Request, jurisdiction_id: str | None = Query(default=None, max_length=64)
) -> list[dict[str, Any]]:
    """Per body: what is queued, retrying, sent and given up, whether it is paused, the oldest queued item's age."""
    service: OutboundService = request.app.state.service
    async with service.pool.connection() as conn:
        return [s.as_json() for s in await body_statuses(conn, jurisdiction_id)]


def create_app(settings: OutboundSettings | None = None, **adapters: Any) -> FastAPI:
    """The worker's app; `adapters` go to `bootstrap` (tests pass a pool, senders...)."""
    settings = settings or OutboundSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # /readyz compares the schemas with the migrations on every probe: keep Alembic's per-check lines out.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        app.state.service = await bootstrap(settings, **adapters)
        try:
            yield
        finally:
            service, app.state.service = app.state.service, None
            await service.close()

    app = FastAPI(
        title="CivicLoop outbound",
        version=version("civicloop-open311-outbound"),
        summary="Sending reports to the bodies that handle them: the admin status of every body's queue.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = None
    app.include_router(router, prefix=OPEN311_BASE_PATH)
    app.include_router(ops_router(lambda: _readiness(app)))
    install_open311_error_handlers(
        app, base_path=OPEN311_BASE_PATH, unavailable=(psycopg.OperationalError, PoolTimeout)
    )
    return app


def _readiness(app: FastAPI) -> dict[str, Check]:
    service: OutboundService | None = app.state.service
    return service.readiness_checks() if service is not None else {}


def app_from_environment() -> FastAPI:
    """For `civicloop-outbound run`: the process set up too (JSON logs, traces over OTLP when configured)."""
    settings = OutboundSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    return create_app(settings)
