"""The FastAPI app. Nothing is built at import: `create_app` wires everything, the lifespan opens and closes it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from civicloop_runtime import migrations
from civicloop_runtime.ops import Check, ops_router, service_checks
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from civicloop_projections.bootstrap import Projections, bootstrap
from civicloop_projections.entrypoints import agent_api
from civicloop_projections.entrypoints.consumers import start_consumers, stop_consumers
from civicloop_projections.settings import SCHEMA, ProjectionSettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_app(settings: ProjectionSettings | None = None, *, run_consumer: bool = True) -> FastAPI:
    settings = settings or ProjectionSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # /readyz compares the schema with the migrations on every probe: keep Alembic's per-check lines out.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        projections = await bootstrap(settings, with_consumers=run_consumer)
        supervisors = start_consumers(projections) if run_consumer else []
        app.state.projections = projections
        app.state.supervisors = supervisors
        try:
            yield
        finally:
            await stop_consumers(supervisors)
            await projections.close()

    app = FastAPI(
        title="CivicLoop projections",
        version="1.0.0",
        description="Read models folded from the CivicLoop log: the agents' view of requests, service areas.",
        lifespan=lifespan,
    )
    app.include_router(agent_api.router)
    app.include_router(ops_router(lambda: readiness_checks(app, settings)))
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app


def readiness_checks(app: FastAPI, settings: ProjectionSettings) -> dict[str, Check]:
    projections: Projections | None = getattr(app.state, "projections", None)
    if projections is None:
        return {}
    return service_checks(
        projections.pool,
        migrations_current=lambda: migrations.is_current(settings.sqlalchemy_url, MIGRATIONS, SCHEMA),
        consumers=app.state.supervisors,
    )
