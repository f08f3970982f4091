"""`civicloop-intake sweep-pending`: one sweep of intake's outboxes, outside the service process."""

from __future__ import annotations

from datetime import timedelta

from civicloop_events.outbox import EventLogUnavailable, Sweeper
from civicloop_runtime.db import open_pool

from civicloop_intake.adapters.kafka_event_log import KafkaEventLog
from civicloop_intake.adapters.postgres_corrections import PostgresCorrections
from civicloop_intake.adapters.postgres_merges import PostgresMerges
from civicloop_intake.adapters.postgres_submissions import PostgresSubmissions
from civicloop_intake.settings import IntakeSettings


async def sweep_once(settings: IntakeSettings, *, older_than_s: float) -> int:
    """Publish the submissions, corrections and merges pending at least `older_than_s`; how many were published."""
    pool = await open_pool(settings.pg_dsn, min_size=1, max_size=2, name="civicloop-intake-sweep")
    event_log = KafkaEventLog(
        bootstrap_servers=settings.kafka_bootstrap,
        topic=settings.topics.request_events,
        publish_timeout_s=settings.publish_timeout_s,
        connect_timeout_s=settings.kafka_connect_timeout_s,
    )
    try:
        if not await event_log.connect():
            raise EventLogUnavailable(f"Kafka at {settings.kafka_bootstrap} did not answer")
        sweeper = Sweeper(
            [PostgresSubmissions(pool), PostgresCorrections(pool), PostgresMerges(pool)],
            event_log,
            older_than=timedelta(seconds=older_than_s),
        )
        return await sweeper.sweep_once()
    finally:
        await event_log.stop()
        await pool.close()
