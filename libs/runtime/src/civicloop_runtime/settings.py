"""Settings common to every service; each service extends `ServiceSettings` with its own."""

from __future__ import annotations

from civicloop_events.topics import Topics
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICLOOP_", extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:39092", description="host:port[,host:port] of the brokers"
    )
    pg_dsn: str = Field(default="postgresql://postgres@127.0.0.1:55432/civicloop")
    topic_prefix: str = ""
    topic_partitions: int = 6
    pool_min_size: int = 1
    pool_max_size: int = 10
    log_level: str = "INFO"
    consumer_max_attempts: int = Field(default=5, ge=1, description="handler attempts before dead-lettering")
    consumer_backoff_initial_s: float = Field(default=0.1, gt=0)
    consumer_backoff_max_s: float = Field(default=5.0, gt=0)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=6_000)

    @field_validator("pg_dsn")
    @classmethod
    def _plain_libpq_dsn(cls, v: str) -> str:
        # Accept SQLAlchemy-style URLs too; psycopg wants the plain scheme.
        for prefix in ("postgresql+psycopg://", "postgres://"):
            if v.startswith(prefix):
                return "postgresql://" + v[len(prefix) :]
        return v

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix, partitions=self.topic_partitions)

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+psycopg://" + self.pg_dsn.removeprefix("postgresql://")
