"""Settings common to every service (environment variables prefixed `CIVICLOOP_`); each service extends
`ServiceSettings` with its own, or `VaultPepperSettings` when it seals or digests personal data (and
`OutboxSettings` when it keeps the commands it accepts with their events, `PhoneRegionSettings` when it reads the
phone numbers residents type). A process with no
database and no broker (the back-end adapter app) extends `ProcessSettings`, the part every process shares.

No secret has a default: a secret is either given or, where the service can do without, absent.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Self

import limits
import phonenumbers
from civicloop_events.topics import Topics
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Public, so that dev and test need no secret; refused anywhere else.
DEV_PEPPER = "civicloop-development-pepper-not-secret"


class Environment(str, enum.Enum):
    production = "production"
    staging = "staging"
    dev = "dev"
    test = "test"

    @property
    def relaxed(self) -> bool:
        """dev and test may run on public development values where production needs a secret."""
        return self in (Environment.dev, Environment.test)


def plain_libpq_dsn(dsn: str) -> str:
    """psycopg wants the plain `postgresql://` scheme; accept SQLAlchemy's and the short one too."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql://" + dsn[len(prefix) :]
    return dsn


class ProcessSettings(BaseSettings):
    """What every process reads, whatever it serves: where it runs, how it logs, how large a body it takes."""

    model_config = SettingsConfigDict(env_prefix="CIVICLOOP_", extra="ignore")

    env: Environment = Field(
        default=Environment.production, description="production unless told: forgetting it fails safe"
    )
    log_level: str = "INFO"
    max_body_bytes: int = Field(
        default=1_048_576, ge=1_024, description="larger request bodies are answered 413"
    )

    # Load shedding (`civicloop_runtime.shedding`): answer 503 at once rather than queue.
    max_in_flight_requests: int = Field(
        default=256, ge=1, description="requests handled at once by one process; more are answered 503"
    )
    request_deadline_s: float = Field(
        default=15.0, gt=0, description="a request still running this long is cancelled and answered 503"
    )
    busy_retry_after_s: float = Field(
        default=2.0, gt=0, description="the Retry-After of a 503 for an overloaded or unavailable service"
    )

    # Rate limits per client address (civicloop_runtime.rate_limits): counted in each process's memory.
    rate_limit_per_client: str = Field(
        default="50/second;1500/minute",
        description="requests one client may make to this process, in `limits` notation ('a;b' for both); empty: none",
    )
    rate_limit_trusted_proxies: str = Field(
        default="",
        description="comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client; empty: none",
    )

    @field_validator("rate_limit_per_client")
    @classmethod
    def _limits_notation(cls, v: str) -> str:
        if v.strip():
            limits.parse_many(v)  # ValueError on a notation it cannot read
        return v

    @field_validator("rate_limit_trusted_proxies")
    @classmethod
    def _networks(cls, v: str) -> str:
        for cidr in v.split(","):
            if cidr.strip():
                ipaddress.ip_network(cidr.strip(), strict=False)
        return v

    # Shutdown: on SIGTERM the process stops taking work, then gives what is in flight this long twice over (the
    # HTTP requests being answered, then the closing of consumers, clients and pool) before it lets go of it.
    shutdown_grace_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="seconds for in-flight requests, then as many for closing, on SIGTERM",
    )


class ServiceSettings(ProcessSettings):
    """A service with a database and a broker."""

    kafka_bootstrap: str = Field(
        default="127.0.0.1:21092", description="host:port[,host:port] of the brokers"
    )
    pg_dsn: str = Field(default="postgresql://postgres@127.0.0.1:21432/civicloop")
    topic_prefix: str = ""
    topic_partitions: int = 6
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_timeout_s: float = Field(
        default=5.0, gt=0, description="wait this long for a free database connection, then answer 503"
    )
    pool_max_waiting: int = Field(
        default=64, ge=0, description="requests waiting for a connection beyond this are answered 503 at once"
    )
    consumer_max_attempts: int = Field(default=5, ge=1, description="handler attempts before dead-lettering")
    consumer_backoff_initial_s: float = Field(default=0.1, gt=0)
    consumer_backoff_max_s: float = Field(default=5.0, gt=0)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=6_000)
    consumer_batch_max_records: int = Field(
        default=500, ge=1, description="records applied in one transaction (a poll's, across its partitions)"
    )
    consumer_batch_max_ms: float = Field(
        default=100.0, gt=0, description="a batch's transaction commits once it has run this long"
    )
    consumer_batch_linger_ms: float = Field(
        default=20.0,
        ge=0,
        description="after a poll short of a batch, how long to wait for more records before applying them",
    )

    @field_validator("pg_dsn")
    @classmethod
    def _plain_libpq_dsn(cls, v: str) -> str:
        return plain_libpq_dsn(v)

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix, partitions=self.topic_partitions)

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg://" + self.pg_dsn.removeprefix("postgresql://")


class OutboxSettings(ServiceSettings):
    """For services that keep the commands they accept with their events and publish them (`civicloop_events.outbox`):
    how long a publish waits for the broker, and the sweeper that publishes what a command left pending."""

    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="wait for the broker's acknowledgement"
    )
    sweep_pending_after_s: float = Field(
        default=60.0,
        gt=0,
        description="publish a command (submission, correction, merge, update) left pending this long",
    )
    sweep_every_s: float = Field(default=15.0, gt=0, description="how often to look for such rows")
    event_log_breaker_open_s: float = Field(
        default=2.0,
        gt=0,
        description="after a failed publish, refuse commands at once (503) this long before trying the broker again",
    )


class PhoneRegionSettings(ServiceSettings):
    """For services that read the phone numbers residents type: the region a number without +country belongs to."""

    default_phone_region: str = Field(
        default="US", description="ISO 3166 region for numbers without +country"
    )

    @field_validator("default_phone_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        region = v.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{v!r} is not a region phonenumbers knows")
        return region


class VaultPepperSettings(ServiceSettings):
    """For services that digest or seal personal data with the vault pepper.

    The pepper keys the digests by which a resident is found again; it is a secret and has no default in production.
    Rule: `CIVICLOOP_VAULT_PEPPER` (at least 16 bytes) is required unless `CIVICLOOP_ENV` is `dev` or `test`, where
    the public `DEV_PEPPER` is used when none is given; `DEV_PEPPER` is refused anywhere else. Changing the pepper of
    a live deployment makes every known resident a new one: do it only with a re-index.

    A service that needs the pepper only for some of its work says when in `pepper_needed` (the rule's first
    clause then applies only when it returns True). A command that seals and digests nothing reads its settings
    inside `sealing_nothing()`: the pepper is then not asked for, and `pepper` refuses to answer if it was not given.
    """

    vault_pepper: SecretStr | None = None
    _pepper_optional: bool = PrivateAttr(default=False)

    def pepper_needed(self) -> bool:
        """Whether this configuration digests or seals anything (always, unless a service says otherwise)."""
        return True

    @model_validator(mode="after")
    def _pepper_rule(self) -> Self:
        given = self.vault_pepper.get_secret_value() if self.vault_pepper else None
        self._pepper_optional = _sealing_nothing.get()
        if given is None and not self.env.relaxed and self.pepper_needed() and not self._pepper_optional:
            raise ValueError(self._pepper_required_message())
        if given is not None and len(given.encode()) < 16:
            raise ValueError("CIVICLOOP_VAULT_PEPPER must be at least 16 bytes")
        if given == DEV_PEPPER and not self.env.relaxed:
            raise ValueError("the public development pepper cannot be used outside dev and test")
        return self

    def _pepper_required_message(self) -> str:
        return "CIVICLOOP_VAULT_PEPPER is required (at least 16 bytes) unless CIVICLOOP_ENV is dev or test"

    @property
    def pepper(self) -> bytes:
        if self.vault_pepper is not None:
            return self.vault_pepper.get_secret_value().encode()
        if self._pepper_optional and not self.env.relaxed:
            raise RuntimeError(
                "these settings were read for a command that seals nothing: no pepper was given"
            )
        return DEV_PEPPER.encode()


_sealing_nothing: ContextVar[bool] = ContextVar("civicloop_sealing_nothing", default=False)


@contextmanager
def sealing_nothing() -> Iterator[None]:
    """Settings read inside do not ask for the vault pepper: for commands that never digest or seal (migrations,
    catalogue and partner administration), so that their processes need not hold the secret."""
    token = _sealing_nothing.set(True)
    try:
        yield
    finally:
        _sealing_nothing.reset(token)
