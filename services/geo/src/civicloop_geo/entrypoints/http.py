"""The FastAPI app: geo's query API on the service skeleton (`civicloop_runtime.app`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from civicloop_runtime import process as runtime_process
from civicloop_runtime.app import service_app
from fastapi import FastAPI

from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.entrypoints import query_api
from civicloop_geo.settings import GeoSettings

SERVICE = "geo"


def create_app(settings: GeoSettings | None = None, **adapters: Any) -> FastAPI:
    """The query API; `adapters` (and `start_consumers`: the consumers and the cluster sweep) go to `bootstrap`."""
    settings = settings or GeoSettings()
    return service_app(
        title="CivicLoop geo",
        version="1.0.0",
        description="Places for requests: geocoding, service areas, requests near/in/within, heat-map, clusters.",
        start=partial(bootstrap, settings, **adapters),
        routers=(query_api.router,),
        max_body_bytes=settings.max_body_bytes,
    )


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_geo.entrypoints.http:app_from_environment`."""
    return runtime_process.app_from_environment(SERVICE, GeoSettings, create_app)
