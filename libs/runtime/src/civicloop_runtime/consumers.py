"""A service's consumer runners, built the same way everywhere from its settings."""

from __future__ import annotations

from civicloop_events.consumer import ConsumerRunner, Handler
from civicloop_events.producer import EventProducer
from psycopg_pool import AsyncConnectionPool

from civicloop_runtime.settings import ServiceSettings


def consumer_runner(
    settings: ServiceSettings,
    *,
    name: str,
    topic: str,
    handler: Handler,
    pool: AsyncConnectionPool,
    producer: EventProducer,
    schema: str,
) -> ConsumerRunner:
    """`handler` applied exactly once per event of `topic`, in `schema`'s inbox; poison goes to the dead letters."""
    return ConsumerRunner(
        name=name,
        bootstrap_servers=settings.kafka_bootstrap,
        topic=topic,
        dead_letter_topic=settings.topics.dead_letters,
        pool=pool,
        schema=schema,
        handler=handler,
        producer=producer,
        max_attempts=settings.consumer_max_attempts,
        backoff_initial_s=settings.consumer_backoff_initial_s,
        backoff_max_s=settings.consumer_backoff_max_s,
        session_timeout_ms=settings.consumer_session_timeout_ms,
    )
