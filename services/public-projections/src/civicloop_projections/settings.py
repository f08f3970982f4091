"""Settings of the projections process (environment variables prefixed CIVICLOOP_)."""

from __future__ import annotations

from pathlib import Path

from civicloop_runtime.consumer_groups import consumer_group
from civicloop_runtime.settings import ServiceSettings
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field

SCHEMA = "projections"

# Versioned consumer groups (`civicloop_runtime.consumer_groups`).
AGENT_VIEW_CONSUMER = "projections.agent.v4"  # v2: geo, merges; v3: imported requests; v4: staff work
CATALOGUE_CONSUMER = "projections.catalogue.v1"
SLA_CONSUMER = "projections.sla.v1"  # requests' SLA clocks and instants (adapters/sla_store.py)
SLA_DEFINITIONS_CONSUMER = "projections.sla-definitions.v1"
PUBLIC_CONSUMER = "projections.public.v1"  # the public read model (adapters/public_store.py, docs/public.md)
# Where each request's events stand on the log (civicloop_events.request_index; `civicloop-events replay` reads it).
REQUEST_INDEX_CONSUMER = "projections.request-index.v1"


class ProjectionSettings(ServiceSettings, StaffVerifierSettings):
    agent_consumer_name: str = consumer_group(
        AGENT_VIEW_CONSUMER, description="consumer group of the agent view"
    )
    catalogue_consumer_name: str = consumer_group(
        CATALOGUE_CONSUMER, description="consumer group of the catalogue"
    )
    sla_consumer_name: str = consumer_group(SLA_CONSUMER, description="consumer group of the requests' SLA")
    sla_definitions_consumer_name: str = consumer_group(
        SLA_DEFINITIONS_CONSUMER, description="consumer group of the jurisdictions' SLA definitions"
    )
    public_consumer_name: str = consumer_group(
        PUBLIC_CONSUMER, description="consumer group of the public read model (no personal data)"
    )
    public_time_zone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of the public pages' weeks and days, for a jurisdiction whose SLA definition names none",
    )
    public_min_cell_count: int = Field(
        default=3, ge=1, le=100, description="k: a map cell with fewer requests is not drawn on /public"
    )
    public_cache_s: float = Field(
        default=60.0, ge=0, le=3600, description="how long /public and the weekly CSV are served from memory"
    )
    request_index_consumer_name: str = consumer_group(
        REQUEST_INDEX_CONSUMER, description="consumer group of the request log index"
    )
    rebuild_batch_max_records: int = Field(
        default=5000, ge=1, description="records of one partition a rebuild applies in one transaction"
    )
    rebuild_batch_max_ms: float = Field(
        default=5000.0, gt=0, description="a rebuild's transaction commits once it has run this long"
    )
    read_your_writes_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=30,
        description="how long a GET waits for a position (or a not-yet-projected request)",
    )
    open_data_dir: Path = Field(
        default=Path(".run/open-data"),
        description="where the open-data exports are written, one directory each, with `latest` pointing at the newest",
    )
    open_data_batch_rows: int = Field(
        default=10_000, ge=100, le=1_000_000, description="rows the open-data export reads per batch"
    )
    open_data_keep: int = Field(default=7, ge=1, le=1000, description="open-data exports kept on disk")
