"""A consumer whose effects are exactly-once: effect + inbox row + offset position in one PostgreSQL transaction.

The database, not Kafka, is the source of truth for where a consumer stands: on (re)assignment it seeks to the
positions it committed with its writes, so a crash between the DB commit and a Kafka offset commit neither skips nor
double-applies an event. The inbox (consumer, event_id) also absorbs an event published twice (a producer retried
after a crash). A failing handler is retried with back-off, then the record goes to the dead-letter topic; an
unreachable database is waited out instead, since dead-lettering every event during an outage would lose the log's
order.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from civicloop_events.applied import PositionKey, listener_for, notify_position
from civicloop_events.envelope import Event
from civicloop_events.kafka_connection import client_options
from civicloop_events.producer import EventProducer
from civicloop_events.registry import REGISTRY, EventRegistry, UnknownEventType, decode_event
from civicloop_events.tracing import extract_context

log = logging.getLogger("civicloop.events.consumer")
_tracer = trace.get_tracer("civicloop.events")

Handler = Callable[[psycopg.AsyncConnection[Any], Event[Any]], Awaitable[None]]

APPLIED = Counter("civicloop_consumer_applied_total", "Events applied", ["consumer", "type"])
DUPLICATES = Counter(
    "civicloop_consumer_duplicates_total", "Events already in the inbox, skipped", ["consumer"]
)
DEAD_LETTERED = Counter(
    "civicloop_consumer_dead_lettered_total", "Records sent to the DLQ", ["consumer", "reason"]
)
RETRIES = Counter(
    "civicloop_consumer_retries_total", "Handler attempts that failed and were retried", ["consumer"]
)
POSITION = Gauge("civicloop_consumer_next_offset", "Next offset to apply", ["consumer", "partition"])

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _schema(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe schema name: {name!r}")
    return name


def consumer_tables_ddl(schema: str) -> list[str]:
    """DDL of the inbox and position tables, for a service's Alembic migration."""
    s = _schema(schema)
    return [
        f"""create table {s}.inbox (
              consumer text not null,
              event_id uuid not null,
              topic text not null,
              partition integer not null,
              kafka_offset bigint not null,
              applied_at timestamptz not null default now(),
              primary key (consumer, event_id))""",
        f"""create table {s}.consumer_positions (
              consumer text not null,
              topic text not null,
              partition integer not null,
              next_offset bigint not null,
              updated_at timestamptz not null default now(),
              primary key (consumer, topic, partition))""",
    ]


async def read_positions(
    conn: psycopg.AsyncConnection[Any], schema: str, consumer: str, topic: str
) -> dict[int, int]:
    cur = await conn.execute(
        f"select partition, next_offset from {_schema(schema)}.consumer_positions where consumer = %s and topic = %s",
        (consumer, topic),
    )
    return dict(await cur.fetchall())


async def wait_until_applied(
    pool: AsyncConnectionPool,
    *,
    schema: str,
    consumer: str,
    topic: str,
    partition: int,
    offset: int,
    timeout_s: float,
    poll_s: float = 0.5,
) -> bool:
    """Read-your-writes: wait (bounded) until `consumer` has applied `offset` of `partition`.

    Woken by the runner's position notice (see `civicloop_events.applied`); `poll_s` is only the fallback interval
    at which the stored position is read again, should a notice be missed.
    """

    async def next_offset() -> int:
        async with pool.connection() as conn:
            return (await read_positions(conn, schema, consumer, topic)).get(partition, 0)

    key = PositionKey(_schema(schema), consumer, topic, partition)
    return await listener_for(pool).wait(key, offset, next_offset, timeout_s=timeout_s, recheck_s=poll_s)


class _SeekToStoredPositions(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.runner._seek_to_stored(assigned)


class ConsumerRunner:
    """Runs `handler(conn, event)` for every event of `topic`, exactly once per consumer name."""

    def __init__(
        self,
        *,
        name: str,
        bootstrap_servers: str,
        topic: str,
        dead_letter_topic: str,
        pool: AsyncConnectionPool,
        schema: str,
        handler: Handler,
        producer: EventProducer,
        registry: EventRegistry = REGISTRY,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 5.0,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.name = name
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic
        self.pool = pool
        self.schema = _schema(schema)
        self.handler = handler
        self.producer = producer
        self.registry = registry
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._consumer = AIOKafkaConsumer(
            **client_options(bootstrap_servers),
            group_id=name,
            client_id=name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(1000, session_timeout_ms // 5),
            max_poll_records=500,
        )
        self._stopping = asyncio.Event()
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._consumer.subscribe([self.topic], listener=_SeekToStoredPositions(self))
        try:
            await self._consumer.start()
        except BaseException:
            await self._consumer.stop()
            raise
        self._started = True

    async def stop(self) -> None:
        self._stopping.set()
        await self._consumer.stop()  # safe on a client that never started
        self._started = False

    @property
    def connected(self) -> bool:
        return self._started and bool(self._consumer.assignment())

    async def run(self) -> None:
        """Poll and apply until `stop()`; one record at a time per partition keeps each request's order."""
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    await self._apply_record(record)
                if records:
                    await self._commit_kafka_offset(tp, records[-1].offset + 1)

    # -- internals -------------------------------------------------------------------------------------------------
    async def _seek_to_stored(self, assigned: Any) -> None:
        async with self.pool.connection() as conn:
            stored = await read_positions(conn, self.schema, self.name, self.topic)
        for tp in assigned:
            if tp.partition in stored:
                self._consumer.seek(tp, stored[tp.partition])
            else:
                await self._consumer.seek_to_beginning(tp)
            POSITION.labels(self.name, str(tp.partition)).set(stored.get(tp.partition, 0))

    async def _commit_kafka_offset(self, tp: TopicPartition, next_offset: int) -> None:
        # Informational (lag dashboards): the DB position is authoritative, so a failure here is harmless.
        try:
            await self._consumer.commit({tp: next_offset})
        except Exception as exc:
            log.info("kafka offset commit skipped", extra={"consumer": self.name, "error": repr(exc)})

    async def _apply_record(self, record: ConsumerRecord) -> None:
        try:
            event = decode_event(record.value, self.registry)
        except (UnknownEventType, ValueError) as exc:
            # A record this reader cannot understand will not improve with retries.
            await self._dead_letter(record, reason="undecodable", error=exc)
            return
        attempt = 0
        delay = self.backoff_initial_s
        while True:
            attempt += 1
            try:
                await self._apply_once(record, event)
                return
            except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout) as exc:
                # Infrastructure, not the event: wait it out without counting towards the dead-letter limit.
                log.warning(
                    "database unavailable, retrying", extra={"consumer": self.name, "error": repr(exc)}
                )
                attempt -= 1
            except Exception as exc:
                RETRIES.labels(self.name).inc()
                if attempt >= self.max_attempts:
                    await self._dead_letter(record, reason="handler_failed", error=exc)
                    return
                log.warning(
                    "handler failed, retrying",
                    extra={
                        "consumer": self.name,
                        "event_id": str(event.event_id),
                        "attempt": attempt,
                        "error": repr(exc),
                    },
                )
            if self._stopping.is_set():
                raise asyncio.CancelledError
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max_s)

    async def _apply_once(self, record: ConsumerRecord, event: Event[Any]) -> None:
        with _tracer.start_as_current_span(
            f"apply {event.type}",
            context=extract_context(record.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self.name,
                "messaging.kafka.partition": record.partition,
                "messaging.kafka.offset": record.offset,
                "civicloop.event_id": str(event.event_id),
                "civicloop.request_id": event.request_id or "",
            },
        ):
            async with self.pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    f"insert into {self.schema}.inbox (consumer, event_id, topic, partition, kafka_offset)"
                    " values (%s, %s, %s, %s, %s) on conflict do nothing",
                    (self.name, event.event_id, record.topic, record.partition, record.offset),
                )
                if cur.rowcount == 1:
                    await self.handler(conn, event)
                    APPLIED.labels(self.name, event.type).inc()
                else:
                    DUPLICATES.labels(self.name).inc()
                await self._store_position(conn, record.topic, record.partition, record.offset + 1)
        POSITION.labels(self.name, str(record.partition)).set(record.offset + 1)

    async def _store_position(
        self, conn: psycopg.AsyncConnection[Any], topic: str, partition: int, nxt: int
    ) -> None:
        await conn.execute(
            f"insert into {self.schema}.consumer_positions (consumer, topic, partition, next_offset)"
            " values (%s, %s, %s, %s) on conflict (consumer, topic, partition)"
            " do update set next_offset = excluded.next_offset, updated_at = now()",
            (self.name, topic, partition, nxt),
        )
        await notify_position(conn, PositionKey(self.schema, self.name, topic, partition), nxt)

    async def _dead_letter(self, record: ConsumerRecord, *, reason: str, error: BaseException) -> None:
        log.error(
            "dead-lettering record",
            extra={
                "consumer": self.name,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
                "error": repr(error),
            },
        )
        headers = [
            *(record.headers or ()),
            ("dlq.consumer", self.name.encode()),
            ("dlq.reason", reason.encode()),
            ("dlq.error", repr(error)[:2000].encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        ]
        await self.producer.publish_raw(self.dead_letter_topic, record.value, key=record.key, headers=headers)
        # Move past it only once the DLQ has it; no inbox row, so a redrive after a fix can still apply it.
        async with self.pool.connection() as conn, conn.transaction():
            await self._store_position(conn, record.topic, record.partition, record.offset + 1)
        DEAD_LETTERED.labels(self.name, reason).inc()
