"""The FastAPI app: the agent read API on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`: the consumers in the same process) go to
`bootstrap`. `app_from_environment`: for
`uvicorn --factory civicloop_projections.entrypoints.http:app_from_environment`.
"""

from __future__ import annotations

from typing import Any

from civicloop_runtime import process
from civicloop_runtime.service_http import ServiceHttp
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import install_staff_verifier
from fastapi import FastAPI

from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.database import MIGRATIONS
from civicloop_projections.entrypoints import agent_api, open_data, public_api
from civicloop_projections.settings import ProjectionSettings

SERVICE = "public-projections"
__all__ = ["HTTP", "MIGRATIONS", "app_from_environment", "create_app"]

HTTP = ServiceHttp(
    SERVICE,
    ProjectionSettings,
    bootstrap,
    title="CivicLoop projections",
    description=(
        "Read models folded from the CivicLoop log: the agents' view of requests, service areas, and the public"
        " figures (/public, the weekly CSV) from a read model without personal data."
    ),
    routers=(agent_api.router, public_api.router, open_data.router),
)


def create_app(
    settings: ProjectionSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The app with the staff token verifier installed from the settings (`staff_verifier` replaces it, for tests
    that mint their own tokens)."""
    settings = settings or ProjectionSettings()
    app = HTTP.create_app(settings, **adapters)
    install_staff_verifier(app, staff_verifier or settings.staff_verifier_or_closed(settings.env))
    return app


def app_from_environment() -> FastAPI:
    return process.app_from_environment(SERVICE, ProjectionSettings, create_app)
