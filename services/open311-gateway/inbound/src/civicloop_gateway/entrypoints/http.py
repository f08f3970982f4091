"""The HTTP app. `create_app` builds only routes; the pool, producers, vault and consumers open in the lifespan.

Open311 lives under `/open311/v2/` (reads, writes, the admin catalogue API); `/healthz`, `/readyz` and `/metrics`
at the root. Every error under the Open311 base path is an Open311 error document (`open311/errors.py`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import psycopg
from civicloop_open311.http import install_open311_error_handlers, openapi_with_open311_errors
from civicloop_runtime.logs import configure_logging
from civicloop_runtime.ops import ops_router
from civicloop_runtime.telemetry import configure_tracing
from fastapi import FastAPI, Request, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from psycopg_pool import PoolTimeout

from civicloop_gateway.bootstrap import Gateway, bootstrap
from civicloop_gateway.entrypoints import admin_api, read_routes, write_routes
from civicloop_gateway.settings import OPEN311_BASE_PATH, GatewaySettings

SERVICE = "civicloop-gateway"
log = logging.getLogger("civicloop.gateway.http")


def create_app(settings: GatewaySettings | None = None, *, run_consumer: bool = True) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # /readyz compares the schemas with the migrations on every probe: keep Alembic's per-check lines out.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        gateway = await bootstrap(settings, run_consumers=run_consumer)
        app.state.gateway = gateway
        app.state.pool = gateway.pool
        app.state.producer = gateway.producer
        app.state.config_producer = gateway.config_producer
        app.state.vault = gateway.vault
        try:
            yield
        finally:
            app.state.gateway = None
            await gateway.close()

    app = FastAPI(
        title="CivicLoop Open311 gateway",
        version=version("civicloop-open311-gateway"),
        summary="Open311 GeoReport v2: services, service definitions, requests, tokens and service request "
        "updates, in XML and JSON.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.gateway = None
    app.include_router(read_routes.router, prefix=OPEN311_BASE_PATH)
    app.include_router(write_routes.router, prefix=OPEN311_BASE_PATH)
    app.include_router(admin_api.router, prefix=OPEN311_BASE_PATH)
    app.include_router(ops_router(lambda: _readiness(app)))
    install_open311_error_handlers(
        app, base_path=OPEN311_BASE_PATH, unavailable=(psycopg.OperationalError, PoolTimeout)
    )
    _document_open311_errors(app)
    app.middleware("http")(_log_request)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz,/readyz,/metrics")
    return app


def _document_open311_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_with_open311_errors(generate(), base_path=OPEN311_BASE_PATH)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _readiness(app: FastAPI) -> dict:
    gateway: Gateway | None = app.state.gateway
    return gateway.readiness_checks() if gateway is not None else {}


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_gateway.entrypoints.http:app_from_environment`: the process set up too."""
    settings = GatewaySettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)
    return create_app(settings)


async def _log_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    # Paths only: POST bodies carry contact details and query strings are nobody's business in the logs.
    started = time.perf_counter()
    response = await call_next(request)
    if request.url.path not in ("/healthz", "/readyz", "/metrics"):
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return response
