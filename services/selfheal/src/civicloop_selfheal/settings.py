"""selfheal's settings (environment variables prefixed `CIVICLOOP_`; its own are `CIVICLOOP_SELFHEAL_*`)."""

from __future__ import annotations

from datetime import timedelta

from civicloop_runtime.consumer_groups import consumer_group
from civicloop_runtime.settings import ServiceSettings
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field

from civicloop_selfheal.domain.findings import SweepPolicy

SCHEMA = "selfheal"
REQUESTS_CONSUMER = "selfheal.requests.v1"
CONFIG_CONSUMER = "selfheal.config.v1"
CRON_TOKEN_REF = "selfheal.cron-token"  # noqa: S105 - the secret's name (CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN)


class SelfhealSettings(ServiceSettings, StaffVerifierSettings):
    requests_consumer_name: str = consumer_group(
        REQUESTS_CONSUMER,
        description="consumer group on requests.events (the view of requests and hot spots)",
    )
    config_consumer_name: str = consumer_group(
        CONFIG_CONSUMER, description="consumer group on jurisdiction.config (bodies, poll streaks, SLA)"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="wait for the broker's acknowledgement"
    )

    selfheal_every_s: float = Field(
        default=300.0, ge=0, description="the service's own sweep schedule, one replica at a time; 0: none"
    )
    selfheal_cooldown_s: float = Field(
        default=6 * 3600.0, gt=0, description="at most one action of a kind per request (or body) this often"
    )
    selfheal_not_sent_after_s: float = Field(
        default=3600.0, gt=0, description="a routed report not sent to its body after this is stuck"
    )
    selfheal_visit_grace_s: float = Field(
        default=2 * 3600.0, ge=0, description="after a visit's end, the time allowed to say how it went"
    )
    selfheal_cluster_after_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="a hot spot no staff member acted on for this long is escalated",
    )
    selfheal_pending_after_s: float = Field(
        default=300.0,
        gt=0,
        description="intake's pending submissions older than this: intake is asked to sweep",
    )
    selfheal_intake_url: str = Field(
        default="", description="intake's base URL (its /metrics and cron sweep); empty: not watched"
    )
    selfheal_intake_timeout_s: float = Field(default=5.0, gt=0, le=60)
    selfheal_cron_rate_limit_per_client: str = Field(
        default="120/minute", description="calls one client may make to the cron route (`limits` notation)"
    )
    selfheal_runs_listed: int = Field(default=50, ge=1, le=500, description="runs `GET .../runs` answers")
    selfheal_runs_kept_days: int = Field(
        default=90,
        ge=1,
        le=3660,
        description="days a run's record is kept (older ones go as a new run starts)",
    )

    def sweep_policy(self) -> SweepPolicy:
        return SweepPolicy(
            not_sent_after=timedelta(seconds=self.selfheal_not_sent_after_s),
            visit_grace=timedelta(seconds=self.selfheal_visit_grace_s),
            cluster_after=timedelta(seconds=self.selfheal_cluster_after_s),
            pending_after=timedelta(seconds=self.selfheal_pending_after_s),
            cooldown=timedelta(seconds=self.selfheal_cooldown_s),
        )
