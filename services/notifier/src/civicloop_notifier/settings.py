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
STAFF_DIRECTORY_CONSUMER = "notifier.staff.v1"
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
        default="http://127.0.0.1:8001/track?number={number}",
        description="the resident's tracking page; `{number}` is the request number",
    )
    agent_console_url: str = Field(
        default="http://127.0.0.1:8001/console/requests/{number}",
        description="a request in the agent console, linked from staff e-mails; `{number}` is the request number",
    )
    notifier_staff_language: str = Field(
        default="en", max_length=35, description="the language staff e-mails are written in (BCP 47)"
    )
    staff_directory_consumer_name: str = consumer_group(
        STAFF_DIRECTORY_CONSUMER,
        description="consumer group on jurisdiction.config (the staff directory: whom to e-mail about stuck requests)",
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
    # The inbound side (`entrypoints/webhooks.py`): Twilio's callbacks and residents' texts, email replies.
    notifier_webhook_max_bytes: int = Field(
        default=16384, ge=1024, le=1_048_576, description="a webhook's form is read no further than this"
    )
    notifier_webhook_rate_limit: str = Field(
        default="300/second",
        description="the providers' webhooks (`/webhooks/`), counted apart from `rate_limit_per_client`: Twilio sends a "
        "status callback per text from a few addresses and never resends one refused",
    )
    notifier_conversation_ttl_s: float = Field(
        default=24 * 3600,
        gt=0,
        description="how long the request a resident last talked about stays the conversation",
    )
    notifier_program_name: str = Field(
        default="CivicLoop 311", max_length=40, description="who the texts come from (STOP / HELP answers)"
    )
    notifier_help_contact: str = Field(
        default="311", max_length=80, description="where residents get help (the HELP answer)"
    )
    notifier_reply_domain: str | None = Field(
        default=None,
        max_length=200,
        description="the domain of emails' per-request Reply-To addresses (its MX reaches the reply listener); "
        "unset: emails carry no Reply-To",
    )
    notifier_reply_smtp_host: str = Field(default="127.0.0.1", description="where the reply listener binds")
    notifier_reply_smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="the reply listener's SMTP port; unset: no listener"
    )
    notifier_reply_max_bytes: int = Field(
        default=262_144, ge=4096, le=10_485_760, description="a reply larger than this is refused (552)"
    )
    notifier_visit_alarm_hours: float = Field(
        default=24.0, gt=0, le=24 * 14, description="a visit's calendar reminder, this many hours before it"
    )
    notifier_calendar_domain: str = Field(
        default="civicloop.example",
        min_length=1,
        description="the visits' calendar UIDs are visit-<id>@<this>",
    )
    notifier_calendar_organizer_email: str = Field(
        default="no-reply@civicloop.example",
        description="the county's address, as the calendar entries' organiser",
    )
    notifier_calendar_organizer_name: str = Field(default="CivicLoop")
    notifier_media_url_prefixes: list[str] = Field(
        default_factory=list,
        description="where CivicLoop serves media itself: a closing's photos under one of these are attached "
        "(when small), any other is linked",
    )
    notifier_photo_max_bytes: int = Field(
        default=2_000_000,
        ge=0,
        description="a photo larger than this is linked rather than attached (0: never)",
    )

    govdelivery_base_url: str | None = Field(
        default=None,
        description="the govDelivery API (https://api.govdelivery.com); the feed is off without it",
    )
    govdelivery_account_code: str | None = Field(default=None, description="the county's account, e.g. MDPGC")
    govdelivery_username: str | None = Field(default=None, description="the account's API user")
    govdelivery_password_ref: str = Field(
        default="govdelivery.password",
        description="secret ref of the API user's password (CIVICLOOP_SECRET_GOVDELIVERY_PASSWORD)",
    )
    govdelivery_from_address_id: str | None = Field(
        default=None, description="a sender address of the account"
    )
    govdelivery_topic_prefixes: dict[str, str] = Field(
        default_factory=dict,
        description="jurisdiction -> its topics' prefix (`<PREFIX>_311_CAT_<CATEGORY>`); the account code otherwise",
    )
    govdelivery_district_kinds: list[str] = Field(
        default_factory=lambda: ["council_district"],
        description="the service area kinds whose area is a request's district topic",
    )
    govdelivery_language: str = Field(default="en", description="the language bulletins are written in")

    def govdelivery_configured(self) -> bool:
        """The feed is on when the API, the account and its user are named."""
        return bool(self.govdelivery_base_url and self.govdelivery_account_code and self.govdelivery_username)

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
