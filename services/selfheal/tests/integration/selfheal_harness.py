"""selfheal on the real broker and a database of the test's own: its consumers folding the test's events, sweeps
called by the test, and what selfheal put on the log read back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from civicloop_events import Event
from civicloop_events.producer import EventProducer
from civicloop_events.registry import encode_event
from civicloop_events.topics import Topics
from civicloop_selfheal.bootstrap import Selfheal, bootstrap
from civicloop_selfheal.database import migrate
from civicloop_selfheal.settings import SelfhealSettings
from civicloop_testing.events import publish_events, read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings

CRON_TOKEN = "cron-token-for-tests-0123456789abcdef"
CRON_ENV = {"CIVICLOOP_SECRET_SELFHEAL_CRON_TOKEN": CRON_TOKEN}


def selfheal_settings(dsn: str, kafka: str, topics: Topics, **overrides: Any) -> SelfhealSettings:
    settings = run_settings(SelfhealSettings, dsn, kafka, topics, selfheal_every_s=0, **overrides)
    migrate(settings.sqlalchemy_url)
    return settings


@asynccontextmanager
async def running(settings: SelfhealSettings, **adapters: Any) -> AsyncIterator[Selfheal]:
    service = await bootstrap(settings, **adapters)
    try:
        yield service
    finally:
        await service.close()


async def publish(settings: SelfhealSettings, events: Iterable[Event[Any]]) -> None:
    by_topic: dict[str, list[Event[Any]]] = {}
    for e in events:
        by_topic.setdefault(settings.topics.of(e.payload), []).append(e)
    for topic, batch in by_topic.items():
        await publish_events(settings.kafka_bootstrap, topic, batch)


async def folded(service: Selfheal, numbers: Iterable[str], *, check: str = "true") -> None:
    """Wait until the view holds each of `numbers` (and, per row, `check`, SQL over `view`)."""
    wanted = sorted(set(numbers))

    async def there() -> bool:
        async with service.pool.connection() as conn:
            cur = await conn.execute(
                f"select count(*) from selfheal.requests where request_number = any(%s) and ({check})",
                (wanted,),
            )
            row = await cur.fetchone()
            return bool(row and row[0] == len(wanted))

    await eventually(there, timeout=30, what=f"the view holds {wanted} ({check})")


async def config_folded(service: Selfheal, sql: str) -> None:
    async def there() -> bool:
        async with service.pool.connection() as conn:
            row = await (await conn.execute(sql)).fetchone()
            return bool(row and row[0])

    await eventually(there, timeout=30, what=sql)


async def selfheal_events(settings: SelfhealSettings) -> list[Event[Any]]:
    """What selfheal published, on both topics."""
    out: list[Event[Any]] = []
    for topic in (settings.topics.request_events, settings.topics.jurisdiction_config):
        partitions = settings.topics.partitions if topic == settings.topics.request_events else 1
        out += [
            e
            for e in await read_all_events(settings.kafka_bootstrap, topic, partitions)
            if e.source == "selfheal"
        ]
    return out


async def dead_letter(settings: SelfhealSettings, event: Event[Any], *, consumer: str, reason: str) -> None:
    """A record on the dead-letter topic as a consumer forwards it (the original value, `dlq.*` headers)."""
    producer = EventProducer(settings.kafka_bootstrap, settings.topics.dead_letters, client_id="tests-dlq")
    await producer.start()
    try:
        headers = [("dlq.consumer", consumer.encode()), ("dlq.reason", reason.encode())]
        await producer.publish_raw(
            settings.topics.dead_letters, encode_event(event), key=event.key, headers=headers
        )
    finally:
        await producer.stop()
