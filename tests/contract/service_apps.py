"""Every service's HTTP app, built by its real factory with test settings and the test staff verifier, no lifespan.

Contract tests walk these apps' routes and OpenAPI documents without a database or a broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from civicloop_backend_adapters.config import AdapterAppConfig
from civicloop_backend_adapters.entrypoints.http import create_app as create_adapters
from civicloop_gateway.entrypoints.http import create_app as create_gateway
from civicloop_gateway.settings import GatewaySettings
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_intake.settings import IntakeSettings
from civicloop_notifier.entrypoints.http import create_app as create_notifier
from civicloop_notifier.settings import NotifierSettings
from civicloop_outbound.entrypoints.http import create_app as create_outbound
from civicloop_outbound.settings import OutboundSettings
from civicloop_projections.entrypoints.http import create_app as create_projections
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime.settings import Environment
from civicloop_selfheal.entrypoints.http import create_app as create_selfheal
from civicloop_selfheal.settings import SelfhealSettings
from civicloop_testing.staff_tokens import verifier_for_tests
from fastapi import FastAPI

# The smallest adapter configuration: one CSV feed, never read (no lifespan).
_CSV_FEED = {
    "type": "csv_feed",
    "columns": {"external_id": "Job Ref", "status": "Status", "timestamp": "Changed At"},
    "status_map": {"Open": "open"},
    "timestamp_format": "%d/%m/%Y %H:%M",
    "timezone": "Europe/London",
    "services": [{"service_code": "GRAF", "service_name": "Graffiti"}],
    "directory": "/nowhere",
}


@dataclass(frozen=True)
class Service:
    name: str
    package: str  # the service's Python package (its `entrypoints/http.py`)
    build: Callable[[], FastAPI]


def _test_settings(settings_type: type) -> object:
    return settings_type(
        env=Environment.test,
        pg_dsn="postgresql://nobody@127.0.0.1:1/none",
        kafka_bootstrap="127.0.0.1:1",
        rate_limit_per_client="",  # one client asking many times: the limit would answer before the guard
    )


SERVICES = [
    Service(
        "intake",
        "civicloop_intake",
        lambda: create_intake(_test_settings(IntakeSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "public-projections",
        "civicloop_projections",
        lambda: create_projections(_test_settings(ProjectionSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "open311-gateway",
        "civicloop_gateway",
        lambda: create_gateway(_test_settings(GatewaySettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "outbound",
        "civicloop_outbound",
        lambda: create_outbound(_test_settings(OutboundSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "geo",
        "civicloop_geo",
        lambda: create_geo(_test_settings(GeoSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "notifier",
        "civicloop_notifier",
        lambda: create_notifier(_test_settings(NotifierSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "selfheal",
        "civicloop_selfheal",
        lambda: create_selfheal(_test_settings(SelfhealSettings), staff_verifier=verifier_for_tests()),
    ),
    Service(
        "backend-adapters",
        "civicloop_backend_adapters",
        lambda: create_adapters(
            config=AdapterAppConfig.model_validate({"jurisdictions": {"parks.example": _CSV_FEED}})
        ),
    ),
]
