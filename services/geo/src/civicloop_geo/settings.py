"""Settings of the geo process (environment variables prefixed CIVICLOOP_)."""

from __future__ import annotations

from typing import Literal

from civicloop_runtime.consumer_groups import consumer_group
from civicloop_runtime.settings import ServiceSettings
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field, SecretStr

SCHEMA = "geo"

# Versioned consumer groups (`civicloop_runtime.consumer_groups`).
REQUESTS_CONSUMER = "geo.requests.v1"
CONFIG_CONSUMER = "geo.config.v1"


class GeoSettings(ServiceSettings, StaffVerifierSettings):
    requests_consumer_name: str = consumer_group(
        REQUESTS_CONSUMER, description="consumer group on requests.events"
    )
    config_consumer_name: str = consumer_group(
        CONFIG_CONSUMER, description="consumer group on jurisdiction.config"
    )

    geocoder: Literal["gazetteer", "nominatim", "pelias", "census"] = Field(
        default="gazetteer",
        description="forward/reverse geocoder: the local PostGIS gazetteer or a remote provider",
    )
    geocoder_url: str = Field(
        default="", description="base URL of the remote geocoder (nominatim, pelias, census)"
    )
    geocoder_api_key: SecretStr | None = Field(
        default=None, description="API key of the remote geocoder, where it needs one"
    )
    geocoder_timeout_s: float = Field(default=5.0, gt=0, le=60)
    geocoder_user_agent: str = Field(
        default="CivicLoop geo (+https://civicloop.example/contact)",
        description="Nominatim's usage policy asks for an identifying User-Agent",
    )
    geocoder_concurrency: int = Field(
        default=4,
        ge=1,
        le=32,
        description="lookups in flight at once while a batch of requests is placed; 1 for the public Nominatim "
        "(its usage policy allows one request a second)",
    )
    geocoder_min_confidence: float = Field(
        default=0.5, ge=0, le=1, description="below this, an address is reported unresolved"
    )

    duplicate_radius_m: float = Field(default=500.0, gt=0, le=10_000)
    duplicate_window_days: int = Field(default=30, ge=1, le=365)
    duplicate_max_candidates: int = Field(default=5, ge=1, le=50)
    duplicate_related_by_group: bool = Field(
        default=True, description="categories of the same catalogue group count as related for duplicates"
    )

    cluster_eps_m: float = Field(default=250.0, gt=0, le=5_000, description="DBSCAN neighbourhood radius")
    cluster_min_points: int = Field(default=5, ge=2, le=1_000, description="requests that make a cluster")
    cluster_window_hours: int = Field(default=72, ge=1, le=24 * 90)
    cluster_sweep_interval_s: float = Field(default=300.0, gt=0)

    public_h3_resolution: int = Field(default=9, ge=5, le=10, description="H3 cell size of public locations")
    public_geocode_rate_limit_per_client: str = Field(
        default="20/minute;200/hour",
        description="public geocode lookups one client may make (`limits` notation), on top of the general limit",
    )
    public_areas_tolerance_m: float = Field(
        default=10.0,
        gt=0,
        le=1_000,
        description="the public service-area map's simplification tolerance; it doubles until the map fits",
    )
    public_areas_max_bytes: int = Field(
        default=750_000,
        ge=10_000,
        le=20_000_000,
        description="the public service-area map's bound: geometry is simplified further until it fits",
    )
    public_areas_max_areas: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="areas on the public map at most (the first, by kind and id)",
    )
    public_areas_max_age_s: int = Field(
        default=300, ge=0, le=86_400, description="how long browsers and proxies may keep the public map"
    )
