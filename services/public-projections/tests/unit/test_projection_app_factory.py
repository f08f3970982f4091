"""The app is built without touching the network or the database; the lifespan is where resources open."""

from __future__ import annotations

from civicloop_projections.entrypoints.http import create_app
from civicloop_projections.settings import AGENT_VIEW_CONSUMER, CATALOGUE_CONSUMER, ProjectionSettings
from civicloop_runtime.settings import Environment


def test_create_app_opens_nothing_and_serves_the_documented_routes():
    # An unreachable database and broker: building the app must not notice.
    settings = ProjectionSettings(
        pg_dsn="postgresql://nobody@127.0.0.1:1/none", kafka_bootstrap="127.0.0.1:1", env=Environment.test
    )
    app = create_app(settings)
    paths = set(app.openapi()["paths"])
    assert {
        "/api/v1/agent/requests",
        "/api/v1/agent/requests/{number}",
        "/api/v1/agent/service-areas",
        "/healthz",
        "/readyz",
    } <= paths
    assert not hasattr(app.state, "projections")


def test_consumer_groups_are_versioned():
    assert AGENT_VIEW_CONSUMER == "projections.agent.v4"
    assert CATALOGUE_CONSUMER == "projections.catalogue.v1"
    settings = ProjectionSettings()
    assert (settings.agent_consumer_name, settings.catalogue_consumer_name) == (
        AGENT_VIEW_CONSUMER,
        CATALOGUE_CONSUMER,
    )
