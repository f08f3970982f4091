"""The notifier's settings (environment variables prefixed `CIVICLOOP_`).

The vault pepper follows intake's rule (`VaultPepperSettings`): the notifier unseals contacts with the residents'
keys and keeps opt-outs as peppered digests of the contact, never the contact.
"""

from __future__ import annotations

from datetime import time

from civicloop_events.payloads import NotificationChannel
from civicloop_runtime.consumer_groups import consumer_group
from civicloop_runtime.settings import VaultPepperSettings
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicloop_notifier.domain.channels import DEFAULT_FALLBACK_ORDER
from civicloop_notifier.domain.quiet_hours import QuietHours

SCHEMA = "notifier"
REQUESTS_CONSUMER = "notifier.requests.v1"
TEXT_REPORT_CATALOGUE_CONSUMER = "notifier.catalogue.v1"
PROVIDERS = ("fake", "twilio", "vonage", "smtp", "webpush")
"""The providers a channel can be given (`adapters/providers.py` builds them from the environment)."""


class QuietHoursSetting(BaseModel):
    """A jurisdiction's quiet hours: `{"time_zone": "America/New_York", "start": "21:00", "end": "08:00"}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str
    start: time
    end: time

    def rule(self) -> QuietHours:
        return QuietHours(self.time_zone, self.start, self.end)


class NotifierSettings(VaultPepperSettings, StaffVerifierSettings):
    requests_consumer_name: str = consumer_group(
        REQUESTS_CONSUMER, description="consumer group on requests.events (folds requests, queues messages)"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="wait for the broker's acknowledgement"
    )
    tracking_url: str = Field(
        default="http://127.0.0.1:8001/track/{number}",
        description="the resident's tracking page; `{number}` is the request number",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8006",
        description="the notifier's own scheme://host[:port], as residents reach it: the unsubscribe links",
    )
    notifier_providers: dict[NotificationChannel, str] = Field(
        default_factory=lambda: dict.fromkeys(NotificationChannel, "fake"),
        description="channel -> provider sending it; a channel left out is not available (its messages fall back)",
    )
    notifier_fallback_order: list[NotificationChannel] = Field(
        default_factory=lambda: list(DEFAULT_FALLBACK_ORDER),
        description="after the preferred channel, the channels tried in turn when one refuses or is missing",
    )
    notifier_time_zones: dict[str, str] = Field(
        default_factory=dict,
        description="jurisdiction -> IANA time zone that dates are written in (else UTC)",
    )
    notifier_quiet_hours: dict[str, QuietHoursSetting] = Field(
        default_factory=dict, description="jurisdiction -> quiet hours, during which messages wait"
    )
    notifier_max_age_s: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="events older than this when folded are not told (a first start on an old log tells nobody)",
    )
    notifier_concurrency: int = Field(default=8, ge=1, le=256, description="messages sent at the same time")
    notifier_poll_interval_s: float = Field(default=1.0, gt=0, description="how often an idle sender looks")
    notifier_send_timeout_s: float = Field(default=30.0, gt=0, description="bound on one provider call")
    notifier_max_attempts: int = Field(
        default=8, ge=1, description="failed attempts on a channel before the next"
    )
    notifier_backoff_initial_s: float = Field(default=30.0, gt=0)
    notifier_backoff_max_s: float = Field(default=3600.0, gt=0)

    # Reports by text message (service_layer/text_reporting.py): on when both URLs are set.
    notifier_geo_url: str = Field(
        default="", description="geo's base URL (its public geocode), for text reports"
    )
    notifier_intake_url: str = Field(
        default="", description="intake's base URL (its public submission route), for text reports"
    )
    notifier_text_report_jurisdiction: str = Field(
        default="demo",
        min_length=1,
        max_length=64,
        description="the jurisdiction text reports are filed with",
    )
    notifier_text_report_timeout_s: float = Field(
        default=1800.0, gt=0, description="a text report left alone this long starts afresh at the next text"
    )
    notifier_text_report_http_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="bound on one call to geo or intake"
    )
    text_report_catalogue_consumer_name: str = consumer_group(
        TEXT_REPORT_CATALOGUE_CONSUMER,
        description="consumer group on jurisdiction.config (the services text reports offer)",
    )

    def text_reporting_configured(self) -> bool:
        return bool(self.notifier_geo_url and self.notifier_intake_url)

    @field_validator("notifier_providers")
    @classmethod
    def _known_providers(cls, v: dict[NotificationChannel, str]) -> dict[NotificationChannel, str]:
        unknown = sorted({p for p in v.values() if p not in PROVIDERS})
        if unknown:
            raise ValueError(f"unknown providers {unknown}; known: {list(PROVIDERS)}")
        return v

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")

    def time_zone_of(self, jurisdiction_id: str) -> str:
        return self.notifier_time_zones.get(jurisdiction_id, "UTC")

    def quiet_hours_of(self, jurisdiction_id: str) -> QuietHours | None:
        setting = self.notifier_quiet_hours.get(jurisdiction_id)
        return setting.rule() if setting else None
