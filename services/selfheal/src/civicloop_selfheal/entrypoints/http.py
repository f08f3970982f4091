"""The FastAPI app: selfheal's cron and runs routes on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`) go to `bootstrap`. `app_from_environment`: for
`uvicorn --factory civicloop_selfheal.entrypoints.http:app_from_environment`.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from civicloop_runtime import process
from civicloop_runtime.service_http import ServiceHttp
from civicloop_staff.tokens import StaffTokenVerifier
from civicloop_staff.verifier import install_staff_verifier
from fastapi import FastAPI

from civicloop_selfheal.bootstrap import bootstrap
from civicloop_selfheal.entrypoints import cron_api
from civicloop_selfheal.settings import SelfhealSettings

SERVICE = "selfheal"

HTTP = ServiceHttp(
    SERVICE,
    SelfhealSettings,
    bootstrap,
    title="CivicLoop selfheal",
    version=version("civicloop-selfheal"),
    description="Finds work that should have moved and did not, and repairs or escalates it, once.",
    routers=(cron_api.router,),
    path_limits=lambda settings: {cron_api.SELF_HEAL_PATH: settings.selfheal_cron_rate_limit_per_client},
)


def create_app(
    settings: SelfhealSettings | None = None,
    *,
    staff_verifier: StaffTokenVerifier | None = None,
    **adapters: Any,
) -> FastAPI:
    """The app with the staff token verifier installed from the settings (`staff_verifier` replaces it, for tests
    that mint their own tokens)."""
    settings = settings or SelfhealSettings()
    app = HTTP.create_app(settings, **adapters)
    install_staff_verifier(app, staff_verifier or settings.staff_verifier_or_closed(settings.env))
    return app


def app_from_environment() -> FastAPI:
    return process.app_from_environment(SERVICE, SelfhealSettings, create_app)
