"""The FastAPI app: geo's query API on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`: the consumers and the cluster sweep) go to
`bootstrap`. `app_from_environment`: for `uvicorn --factory civicloop_geo.entrypoints.http:app_from_environment`.
"""

from __future__ import annotations

from typing import Any

from civicloop_runtime import process
from civicloop_runtime.service_http import ServiceHttp
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import install_staff_verifier
from fastapi import FastAPI

from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.entrypoints import public_areas, public_geocode, query_api
from civicloop_geo.settings import GeoSettings

SERVICE = "geo"

HTTP = ServiceHttp(
    SERVICE,
    GeoSettings,
    bootstrap,
    title="CivicLoop geo",
    description="Places for requests: geocoding, service areas, requests near/in/within, heat-map, clusters.",
    routers=(query_api.router, query_api.public_router, public_geocode.router, public_areas.router),
    # The public geocode answers anyone: a tighter per-client limit of its own.
    path_limits=lambda settings: {
        public_geocode.PUBLIC_GEOCODE_PATH: settings.public_geocode_rate_limit_per_client
    },
)


def create_app(
    settings: GeoSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The app with the staff token verifier installed from the settings (`staff_verifier` replaces it, for tests
    that mint their own tokens)."""
    settings = settings or GeoSettings()
    app = HTTP.create_app(settings, **adapters)
    install_staff_verifier(app, staff_verifier or settings.staff_verifier_or_closed(settings.env))
    return app


def app_from_environment() -> FastAPI:
    return process.app_from_environment(SERVICE, GeoSettings, create_app)
