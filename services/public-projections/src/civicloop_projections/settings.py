"""Settings of the projections process (environment variables prefixed CIVICLOOP_)."""

from __future__ import annotations

from civicloop_runtime.settings import ServiceSettings
from pydantic import Field

SCHEMA = "projections"

# Versioned consumer groups (`<service>.<purpose>.v<N>`). A change to what a fold writes ships with a new version:
# the new group has no stored positions, so it replays the log from offset 0 into the migrated tables.
AGENT_VIEW_CONSUMER = "projections.agent.v2"  # v2: geo placement, duplicates, merges
CATALOGUE_CONSUMER = "projections.catalogue.v1"


class ProjectionSettings(ServiceSettings):
    agent_consumer_name: str = Field(
        default=AGENT_VIEW_CONSUMER, description="consumer group of the agent view"
    )
    catalogue_consumer_name: str = Field(
        default=CATALOGUE_CONSUMER, description="consumer group of the catalogue"
    )
    read_your_writes_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=30,
        description="how long a GET waits for a position (or a not-yet-projected request)",
    )
