"""The HTTP app: Open311 on the service skeleton (`civicloop_runtime.app`). `create_app` builds only routes; the pool,
producers, vault and consumers open in the lifespan (`bootstrap`).

Open311 lives under `/open311/v2/` (reads, writes, the admin catalogue API); `/healthz`, `/readyz` and `/metrics`
at the root. Every error under the Open311 base path is an Open311 error document (`civicloop_open311.http`), the
skeleton's own 413 included. The request log and the spans carry paths only: a partner's `api_key` sent in a query
string reaches neither (`civicloop_runtime.redaction`). Every client is rate limited by its address
(`civicloop_runtime.rate_limits`), answered 429 with Retry-After in an Open311 error document.
"""

from __future__ import annotations

from functools import partial
from importlib.metadata import version
from typing import Any

import psycopg
from civicloop_open311.http import (
    install_open311_error_handlers,
    openapi_with_open311_errors,
    render_open311_error,
)
from civicloop_runtime import process as runtime_process
from civicloop_runtime.app import Shed, service_app
from civicloop_runtime.rate_limits import client_rate_limit
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import install_staff_verifier
from fastapi import APIRouter, FastAPI
from psycopg_pool import PoolTimeout

from civicloop_gateway.bootstrap import SERVICE, bootstrap
from civicloop_gateway.entrypoints import admin_api, partner_api, read_routes, write_routes
from civicloop_gateway.settings import OPEN311_BASE_PATH, GatewaySettings

__all__ = ["SERVICE", "app_from_environment", "create_app"]


def create_app(
    settings: GatewaySettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The routes on the service skeleton; `adapters` (and `start_consumers`) go to `bootstrap`. The admin routes
    admit staff through the verifier from the settings (`staff_verifier` replaces it, for tests)."""
    settings = settings or GatewaySettings()
    open311 = APIRouter(prefix=OPEN311_BASE_PATH)
    for routes in (read_routes.router, write_routes.router, admin_api.router, partner_api.router):
        open311.include_router(routes)
    app = service_app(
        title="CivicLoop Open311 gateway",
        version=version("civicloop-open311-gateway"),
        summary="Open311 GeoReport v2: services, service definitions, requests, tokens and service request "
        "updates, in XML and JSON.",
        start=partial(bootstrap, settings, **adapters),
        routers=(open311,),
        max_body_bytes=settings.max_body_bytes,
        shedding=Shed.from_settings(settings),
        render_error=render_open311_error,
        rate_limit=client_rate_limit(settings, render_open311_error),
    )
    app.state.settings = settings
    install_staff_verifier(
        app,
        staff_verifier or settings.staff_verifier_or_closed(settings.env),
        render_error=render_open311_error,
    )
    install_open311_error_handlers(
        app, base_path=OPEN311_BASE_PATH, unavailable=(psycopg.OperationalError, PoolTimeout)
    )
    _document_open311_errors(app)
    return app


def _document_open311_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_with_open311_errors(generate(), base_path=OPEN311_BASE_PATH)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_gateway.entrypoints.http:app_from_environment`: the process set up too."""
    return runtime_process.app_from_environment(SERVICE, GatewaySettings, create_app)
