"""The FastAPI app. Nothing is built at import: `create_app` wires everything, the lifespan opens and closes it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from civicloop_runtime.ops import Check, ops_router, service_checks
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from civicloop_geo.bootstrap import Geo, bootstrap
from civicloop_geo.database import is_current
from civicloop_geo.entrypoints import query_api
from civicloop_geo.entrypoints.background import ClusterSweeper, start_consumers, stop_consumers
from civicloop_geo.settings import GeoSettings


def create_app(settings: GeoSettings | None = None, *, run_background: bool = True) -> FastAPI:
    """The query API; with `run_background`, also the consumers and the cluster sweep."""
    settings = settings or GeoSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        geo = await bootstrap(settings, with_producer=run_background)
        supervisors = start_consumers(geo) if run_background else []
        sweeper = ClusterSweeper(geo) if run_background else None
        if sweeper:
            sweeper.start()
        app.state.geo, app.state.supervisors = geo, supervisors
        try:
            yield
        finally:
            if sweeper:
                await sweeper.stop()
            await stop_consumers(supervisors)
            await geo.close()

    app = FastAPI(
        title="CivicLoop geo",
        version="1.0.0",
        description="Places for requests: geocoding, service areas, requests near/in/within, heat-map, clusters.",
        lifespan=lifespan,
    )
    app.include_router(query_api.router)
    app.include_router(ops_router(lambda: readiness_checks(app, settings)))
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app


def readiness_checks(app: FastAPI, settings: GeoSettings) -> dict[str, Check]:
    geo: Geo | None = getattr(app.state, "geo", None)
    if geo is None:
        return {}
    return service_checks(
        geo.pool,
        migrations_current=lambda: is_current(settings.sqlalchemy_url),
        consumers=app.state.supervisors,
    )
