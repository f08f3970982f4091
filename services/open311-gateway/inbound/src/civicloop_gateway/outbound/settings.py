"""Settings of outbound sending (environment variables prefixed `CIVICLOOP_`, on top of the gateway's own).

`outbound_include_contact` (default False): whether the email or webhook to a body carries the resident's contact
details (name, email, phone). Off, nothing personal leaves CivicLoop: the body sees the report, its number and a
link back. On, the details are unsealed from the vault at send time only (never stored in clear in the queue) and
put in that one message; a resident erased from the vault is then simply sent without details.

SMTP credentials are secret refs (`smtp_password_ref`), resolved like every other secret (`outbound/secrets.py`).
"""

from __future__ import annotations

from civicloop_events.payloads import SendMethod
from pydantic import Field

from civicloop_gateway.settings import GatewaySettings

OUTBOUND_CONFIG_CONSUMER = "gateway.outbound-config.v1"
OUTBOUND_DISPATCH_CONSUMER = "gateway.outbound-dispatch.v1"


class OutboundSettings(GatewaySettings):
    outbound_include_contact: bool = Field(
        default=False,
        description="put the resident's contact details in emails/webhooks to the responsible body",
    )
    outbound_methods: set[SendMethod] = Field(
        default_factory=lambda: set(SendMethod),
        description="the methods this process sends; items of other methods wait for a process that sends them",
    )
    outbound_in_app: bool = Field(
        default=False,
        description="run the outbound consumers and sender loop inside "
        "the HTTP app's lifespan (else `outbound run`)",
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

    @property
    def outbound_config_consumer_group(self) -> str:
        return self.topic_prefix + self.outbound_config_consumer_name

    @property
    def outbound_dispatch_consumer_group(self) -> str:
        return self.topic_prefix + self.outbound_dispatch_consumer_name
