"""`civicloop-intake sweep-pending`: one sweep of intake's outboxes, outside the service process."""

from __future__ import annotations

from civicloop_events.outbox import EventLogUnavailable

from civicloop_intake.adapters.kafka_event_log import KafkaEventLog
from civicloop_intake.bootstrap import bootstrap, pending_sweeper
from civicloop_intake.settings import IntakeSettings


async def sweep_once(settings: IntakeSettings, *, older_than_s: float) -> int:
    """Publish the submissions, corrections and merges pending at least `older_than_s`; how many were published."""
    event_log = KafkaEventLog(
        bootstrap_servers=settings.kafka_bootstrap,
        topic=settings.topics.request_events,
        publish_timeout_s=settings.publish_timeout_s,
        connect_timeout_s=settings.kafka_connect_timeout_s,
    )
    try:
        # Connected once, or refused: a one-shot command does not keep retrying in the background.
        if not await event_log.connect():
            raise EventLogUnavailable(f"Kafka at {settings.kafka_bootstrap} did not answer")
        intake = await bootstrap(settings, event_log=event_log, start_consumers=False)
        try:
            return await pending_sweeper(intake, older_than_s=older_than_s).sweep_once()
        finally:
            await intake.close()
    finally:
        await event_log.stop()
