"""The FastAPI app: the agent read API on the service skeleton (`civicloop_runtime.app`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from civicloop_runtime import process as runtime_process
from civicloop_runtime.app import service_app
from fastapi import FastAPI

from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.database import MIGRATIONS
from civicloop_projections.entrypoints import agent_api
from civicloop_projections.settings import ProjectionSettings

SERVICE = "public-projections"
__all__ = ["MIGRATIONS", "app_from_environment", "create_app"]


def create_app(settings: ProjectionSettings | None = None, **adapters: Any) -> FastAPI:
    """The read API; `adapters` (and `start_consumers`: the consumers in the same process) go to `bootstrap`."""
    settings = settings or ProjectionSettings()
    return service_app(
        title="CivicLoop projections",
        version="1.0.0",
        description="Read models folded from the CivicLoop log: the agents' view of requests, service areas.",
        start=partial(bootstrap, settings, **adapters),
        routers=(agent_api.router,),
        max_body_bytes=settings.max_body_bytes,
    )


def app_from_environment() -> FastAPI:
    """For `uvicorn --factory civicloop_projections.entrypoints.http:app_from_environment`."""
    return runtime_process.app_from_environment(SERVICE, ProjectionSettings, create_app)
