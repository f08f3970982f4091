"""The gateway's settings (environment variables prefixed `CIVICLOOP_`).

Jurisdictions (G-60..G-62). In `multi` mode (the default) the gateway serves every jurisdiction its catalogue
knows: a request without `jurisdiction_id` means `default_jurisdiction_id` when that is set, and is a 400 otherwise;
an id no event has introduced is a 404. In `single` mode it serves `default_jurisdiction_id` only (required then):
a missing or empty id means that one, and any other id is a 404 (Chicago's rule, so a client that sends a wrong
id learns it at once instead of reading another city's data).

Writes (PR-08, PR-11): `CIVICLOOP_DEDUP_WINDOW` (default 24 h, ISO 8601 duration or seconds) is how long the same
partner posting the same normalised body is answered with the request its first POST made (FixMyStreet retries
failed sends for hours; two genuine reports with identical content, contact and FixMyStreet id within a day do not
happen); `CIVICLOOP_DEFAULT_PHONE_REGION` (default US) is the region a `phone` without a country code is read in, as
intake.

The vault pepper follows intake's rule, `civicloop_runtime.settings.VaultPepperSettings`'s: required (at least 16
bytes) unless `CIVICLOOP_ENV` is `dev` or `test`, where a fixed, public development pepper is used when none is given.
The commands that digest and seal nothing (`migrate`, `partners create|list|revoke`, `rebuild`) read these same settings inside
`sealing_nothing()`, so their processes, the partners Job among them, are not given the secret (least privilege);
`pepper` refuses to answer in such settings when none was given. The publish timeout and the sweeper of pending
submissions and updates are `civicloop_runtime.settings.OutboxSettings`'.
"""

from __future__ import annotations

import enum
from datetime import timedelta

from civicloop_places import DEFAULT_RESOLUTION
from civicloop_runtime.settings import (
    DEV_PEPPER,
    Environment,
    OutboxSettings,
    PhoneRegionSettings,
    VaultPepperSettings,
    sealing_nothing,
)
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field, field_validator, model_validator

__all__ = [
    "DEV_PEPPER",
    "SCHEMA",
    "Environment",
    "GatewaySettings",
    "JurisdictionsMode",
    "sealing_nothing",
]

SCHEMA = "gateway"

# Versioned consumer groups (`<service>.<purpose>.v<N>`): a change to what a fold writes ships with a new version,
# whose group has no stored positions and so replays the log from offset 0.
# v2: requests show a public place (H3 cell centre, block-level address) and fold geo's LocationResolved.
REQUESTS_CONSUMER = "gateway.open311.v2"
CONFIG_CONSUMER = "gateway.config.v1"

OPEN311_BASE_PATH = "/open311/v2"


class JurisdictionsMode(str, enum.Enum):
    single = "single"
    multi = "multi"


class GatewaySettings(VaultPepperSettings, OutboxSettings, PhoneRegionSettings, StaffVerifierSettings):
    jurisdictions_mode: JurisdictionsMode = JurisdictionsMode.multi
    default_jurisdiction_id: str | None = Field(
        default=None,
        max_length=64,
        description="what a missing jurisdiction_id means (required in single mode)",
    )

    public_base_url: str = Field(
        default="http://127.0.0.1:8003", description="scheme://host[:port] partners use"
    )
    endpoint_type: str = Field(
        default="production", pattern=r"^(production|test)$", description="discovery type"
    )
    contact: str = Field(
        default="Open311 support: open311@civicloop.example",
        description="discovery `contact`: who to ask for help",
    )
    key_service: str = Field(
        default="API keys are issued by the jurisdiction's CivicLoop administrators on request.",
        description="discovery `key_service`: how to get an API key",
    )

    max_requests: int = Field(default=1000, ge=1, le=10_000, description="cap of one list response (RQ-04)")
    default_window_days: int = Field(
        default=90, ge=1, le=366, description="default and widest date window (RQ-03)"
    )
    updates_default_window_hours: int = Field(
        default=24, ge=1, description="servicerequestupdates window when no dates are given (FX-02)"
    )
    max_radius_m: float = Field(default=50_000, gt=0, description="largest `radius` of a geographic search")
    # Block level or coarser: at 11 and finer (cell edges under ~30 m) a cell is close to one building.
    public_h3_resolution: int = Field(
        default=DEFAULT_RESOLUTION,
        ge=0,
        le=10,
        description="H3 resolution of the public point of a submitted request",
    )

    read_your_writes_timeout_s: float = Field(
        default=2.0, gt=0, le=30, description="how long a write waits for the view to pass its event"
    )
    dedup_window: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="retries of the same POST within this window make no new request",
    )
    # Bad input (PR-11): without an Idempotency-Key, a body naming its sender is taken as a retry only this long.
    sender_retry_window: timedelta = Field(
        default=timedelta(minutes=10),
        gt=timedelta(0),
        description="how long the same body naming the same sender, without an Idempotency-Key, is a retry",
    )
    batch_token_ttl: timedelta = Field(
        default=timedelta(days=30), description="how long a batch service's token can be looked up"
    )

    consumer_name: str = Field(
        default=REQUESTS_CONSUMER, description="consumer group of the Open311 request view"
    )
    config_consumer_name: str = Field(
        default=CONFIG_CONSUMER, description="consumer group of the catalogue view"
    )

    @field_validator("default_jurisdiction_id")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @model_validator(mode="after")
    def _single_needs_a_default(self) -> GatewaySettings:
        if self.jurisdictions_mode is JurisdictionsMode.single and not self.default_jurisdiction_id:
            raise ValueError(
                "CIVICLOOP_DEFAULT_JURISDICTION_ID is required when CIVICLOOP_JURISDICTIONS_MODE=single"
            )
        return self

    @property
    def request_consumer_group(self) -> str:
        """The Kafka group (and inbox name) of the request view; the topic prefix isolates it like the topics."""
        return self.topic_prefix + self.consumer_name

    @property
    def config_consumer_group(self) -> str:
        return self.topic_prefix + self.config_consumer_name

    @property
    def open311_base_url(self) -> str:
        return self.public_base_url + OPEN311_BASE_PATH
