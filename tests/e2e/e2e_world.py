"""What the end-to-end tests share: settings on the test's own database and topics, the schemas migrated, the
configuration published on the log, and the services' real ASGI apps running in this process with a client on each.

Named uniquely so that it never collides with another directory's helpers when the whole repository's tests run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from civicloop_events.payloads import NotificationChannel
from civicloop_events.payloads.base import EventPayload
from civicloop_events.topics import Topics
from civicloop_intake import database as intake_database
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_notifier.database import migrate as migrate_notifier
from civicloop_notifier.settings import NotifierSettings
from civicloop_projections.entrypoints.http import MIGRATIONS as PROJECTION_MIGRATIONS
from civicloop_projections.settings import SCHEMA as PROJECTION_SCHEMA
from civicloop_projections.settings import ProjectionSettings
from civicloop_runtime import migrations
from civicloop_testing.asgi import serving as serving_one
from civicloop_testing.events import config_event, publish_events
from civicloop_testing.run_settings import run_settings


def shared_settings(dsn: str, topics: Topics, kafka_bootstrap: str) -> dict[str, Any]:
    """The settings every service takes to share one database and one set of topics."""
    return {
        "pg_dsn": dsn,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": topics.prefix,
        "topic_partitions": topics.partitions,
    }


def migrated_intake(dsn: str, topics: Topics, kafka_bootstrap: str) -> IntakeSettings:
    settings = IntakeSettings(env=Environment.test, **shared_settings(dsn, topics, kafka_bootstrap))
    intake_database.migrate(settings.sqlalchemy_url)
    return settings


def migrated_projections(dsn: str, topics: Topics, kafka_bootstrap: str) -> ProjectionSettings:
    # A shared machine under load may take seconds to fold a write: the tests wait for theirs rather than fail.
    settings = ProjectionSettings(
        **shared_settings(dsn, topics, kafka_bootstrap), read_your_writes_timeout_s=30
    )
    migrations.upgrade(settings.sqlalchemy_url, PROJECTION_MIGRATIONS, PROJECTION_SCHEMA)
    return settings


def migrated_notifier(
    dsn: str,
    topics: Topics,
    kafka_bootstrap: str,
    *,
    providers: Mapping[NotificationChannel, str],
    **overrides: Any,
) -> NotifierSettings:
    """The notifier sending by `providers`, quick to send and to retry (`overrides` change any setting)."""
    tag = uuid.uuid4().hex[:8]
    settings = run_settings(
        NotifierSettings,
        dsn,
        kafka_bootstrap,
        topics,
        # Groups of this test's own: ones shared with other runs' notifiers would rebalance with theirs.
        requests_consumer_name=f"notifier.requests.v1.{tag}",
        staff_directory_consumer_name=f"notifier.staff.v1.{tag}",
        text_report_catalogue_consumer_name=f"notifier.catalogue.v1.{tag}",
        notifier_providers=dict(providers),
        notifier_poll_interval_s=0.05,
        notifier_backoff_initial_s=0.05,
        notifier_backoff_max_s=0.2,
        **overrides,
    )
    migrate_notifier(settings.sqlalchemy_url)
    return settings


async def publish_configuration(kafka_bootstrap: str, topics: Topics, *payloads: EventPayload) -> None:
    """Publish jurisdiction "demo"'s configuration (services, areas, partners) as an administrator would."""
    events = [config_event(payload, admin="e2e") for payload in payloads]
    await publish_events(kafka_bootstrap, topics.jurisdiction_config, events)


@asynccontextmanager
async def serving(*apps: tuple[Any, str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Start each (app, base URL) with its lifespan, in order; a client on each; all closed in reverse order."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(serving_one(app, base_url)) for app, base_url in apps]
