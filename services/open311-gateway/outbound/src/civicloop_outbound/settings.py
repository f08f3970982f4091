"""The outbound service's settings (environment variables prefixed `CIVICLOOP_`), for every process it runs: the
sender (`civicloop-outbound run`), the Open311 poller (`civicloop-outbound open311 run`) and the CLI.

`outbound_include_contact` (default False): whether the email or webhook to a body carries the resident's contact
details (name, email, phone). Off, nothing personal leaves CivicLoop: the body sees the report, its number and a
link back, and the sender never opens the vault. On, the details are unsealed from the vault at send time only
(never stored in clear in the queue) and put in that one message; a resident erased from the vault is then simply
sent without details. The vault pepper follows intake's rule (`civicloop_runtime.settings.VaultPepperSettings`),
and only then: required (at least 16 bytes) unless `CIVICLOOP_ENV` is `dev` or `test`, where a fixed, public
development pepper is used when none is given (`pepper_needed` below).

SMTP credentials and back-ends' keys are secret refs (`smtp_password_ref`, a connection's `api_key_ref`), resolved
like every other secret (`adapters/secrets.py`).
"""

from __future__ import annotations

from civicloop_events.payloads import SendMethod
from civicloop_runtime.settings import DEV_PEPPER, Environment, VaultPepperSettings
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field, field_validator

SCHEMA = "outbound"
OPEN311_BASE_PATH = "/open311/v2"

# The consumers keep the names they had inside the gateway: their inbox rows and stored positions moved with them
# (migration outbound_0001), so they resume where they stopped.
OUTBOUND_CONFIG_CONSUMER = "gateway.outbound-config.v1"
OUTBOUND_DISPATCH_CONSUMER = "gateway.outbound-dispatch.v1"
REFS_CONSUMER = "gateway.open311-refs.v1"
CONSUMERS = (OUTBOUND_CONFIG_CONSUMER, OUTBOUND_DISPATCH_CONSUMER, REFS_CONSUMER)
__all__ = ["DEV_PEPPER", "SCHEMA", "Environment", "OutboundSettings"]


class OutboundSettings(VaultPepperSettings, StaffVerifierSettings):
    public_base_url: str = Field(
        default="http://127.0.0.1:8003",
        description="the gateway's scheme://host[:port]: the link back to a request in emails and webhooks",
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="wait for the broker's acknowledgement"
    )

    outbound_include_contact: bool = Field(
        default=False,
        description="put the resident's contact details in emails/webhooks to the responsible body",
    )
    outbound_methods: set[SendMethod] = Field(
        default_factory=lambda: set(SendMethod),
        description="the methods this process sends; items of other methods wait for a process that sends them",
    )
    outbound_config_consumer_name: str = OUTBOUND_CONFIG_CONSUMER
    outbound_dispatch_consumer_name: str = OUTBOUND_DISPATCH_CONSUMER
    outbound_poll_interval_s: float = Field(
        default=1.0, gt=0, description="how often the sender loop looks for due items when idle"
    )
    outbound_concurrency: int = Field(default=8, ge=1, description="bodies sent to at the same time")
    outbound_max_attempts: int = Field(default=8, ge=1, description="attempts before an item is given up")
    outbound_backoff_initial_s: float = Field(default=30.0, gt=0)
    outbound_backoff_max_s: float = Field(default=3600.0, gt=0)
    outbound_send_timeout_s: float = Field(default=30.0, gt=0, description="SMTP / HTTP timeout of one send")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: str = Field(
        default="none",
        pattern=r"^(none|starttls|tls)$",
        description="none, STARTTLS after connecting, or implicit TLS",
    )
    smtp_username: str | None = None
    smtp_password_ref: str | None = Field(default=None, description="secret ref of the SMTP password")
    mail_from: str = "CivicLoop <no-reply@civicloop.example>"

    open311_refs_consumer_name: str = REFS_CONSUMER
    open311_http_timeout_s: float = Field(default=30.0, gt=0, description="timeout of one call to a back-end")
    open311_tick_s: float = Field(default=5.0, gt=0, description="how often the poller looks for due work")
    open311_overlap_s: float = Field(
        default=300.0,
        ge=0,
        description="each poll re-reads this much before the last window's end (late-written updates)",
    )
    open311_token_max_attempts: int = Field(default=12, ge=1, description="token polls before giving up")
    open311_token_backoff_initial_s: float = Field(default=2.0, gt=0)
    open311_token_backoff_max_s: float = Field(default=900.0, gt=0)
    open311_import_fallback_service_code: str | None = Field(
        default=None,
        description="our category for an imported request no mapping matches, when its body sets no"
        " import_fallback_service_code (unset: skip it)",
    )
    open311_import_history_days: int = Field(
        default=0, ge=0, description="how far back the first import poll looks (0: one mop-up window)"
    )
    outbound_poll_failing_after: int = Field(
        default=3,
        ge=1,
        description="failed poll rounds of a body in a row before `jurisdiction.body.poll_failing` is said",
    )

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")

    def pepper_needed(self) -> bool:
        """Only contact details sent to a body are unsealed from the vault."""
        return self.outbound_include_contact

    def _pepper_required_message(self) -> str:
        return (
            "CIVICLOOP_VAULT_PEPPER is required (at least 16 bytes) with CIVICLOOP_OUTBOUND_INCLUDE_CONTACT=true"
            " unless CIVICLOOP_ENV is dev or test"
        )

    @property
    def open311_base_url(self) -> str:
        return self.public_base_url + OPEN311_BASE_PATH

    @property
    def outbound_config_consumer_group(self) -> str:
        return self.topic_prefix + self.outbound_config_consumer_name

    @property
    def outbound_dispatch_consumer_group(self) -> str:
        return self.topic_prefix + self.outbound_dispatch_consumer_name

    @property
    def open311_refs_consumer_group(self) -> str:
        return self.topic_prefix + self.open311_refs_consumer_name
