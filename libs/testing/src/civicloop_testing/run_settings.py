"""A service's settings for one test run: the test environment, the run's own database and its own topics."""

from __future__ import annotations

from typing import Any, TypeVar

from civicloop_events.topics import Topics
from civicloop_runtime.settings import Environment, ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def run_settings(
    settings_type: type[S], dsn: str, kafka_bootstrap: str, topics: Topics, **overrides: Any
) -> S:
    """`settings_type` on the database `dsn` and on `topics` of the real broker, with the test's `overrides`."""
    values: dict[str, Any] = {
        "env": Environment.test,
        "pg_dsn": dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": topics.prefix,
        "topic_partitions": topics.partitions,
        # A test run is one client making hundreds of requests a second; the tests of the limits set their own.
        "rate_limit_per_client": "",
    }
    return settings_type(**{**values, **overrides})


def cli_env(settings: ServiceSettings, **extra: str) -> dict[str, str]:
    """The environment of a service's command run as a process on the same database and topics as `settings`, in a
    terminal wide enough that its tables do not wrap."""
    return {
        "CIVICLOOP_PG_DSN": settings.pg_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "CIVICLOOP_TOPIC_PREFIX": settings.topic_prefix,
        "CIVICLOOP_ENV": Environment.test.value,
        "COLUMNS": "200",
        **extra,
    }
