"""The dead-letter topic, read by the sweep from where it last stopped (positions in PostgreSQL, no consumer group).

Of each record selfheal keeps its place (topic, partition, offset), the consumer that gave up on it and why (its
`dlq.consumer` and `dlq.reason` headers), and, when the value decodes as JSON, the request number and jurisdiction
it names; never the value itself. A record is kept once (its place is the key), so a sweep that stops half-way and
reads again keeps nothing twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from civicloop_events.kafka_connection import client_options
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import InvalidRequestNumber
from civicloop_events.request_numbers import parse as request_number
from psycopg_pool import AsyncConnectionPool

from civicloop_selfheal.service_layer.ports import DeadLetterSource

POLL_MS = 500
MAX_RECORDS = 500


class KafkaDeadLetters(DeadLetterSource):
    def __init__(
        self, pool: AsyncConnectionPool, producer: EventProducer, *, bootstrap_servers: str, topic: str
    ) -> None:
        self.pool = pool
        self.producer = producer  # knows the topic's partitions (a consumer without a group does not)
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic

    async def collect(self) -> int:
        consumer = AIOKafkaConsumer(
            **client_options(self.bootstrap_servers),
            enable_auto_commit=False,
            client_id="civicloop-selfheal-dead-letters",
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(self.topic, p) for p in await self.producer.partitions(self.topic)]
            if not partitions:
                return 0
            consumer.assign(partitions)
            stored = await self._positions()
            for tp in partitions:
                consumer.seek(tp, stored.get(tp.partition, 0))
            ends = await consumer.end_offsets(partitions)
            kept = 0
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                polled = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
                for tp, records in polled.items():
                    kept += await self._keep(tp.partition, records)
            return kept
        finally:
            await consumer.stop()

    async def _positions(self) -> dict[int, int]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select partition, next_offset from selfheal.dead_letter_positions where topic = %s",
                (self.topic,),
            )
            return dict(await cur.fetchall())

    async def _keep(self, partition: int, records: list[Any]) -> int:
        if not records:
            return 0
        rows = [_row(self.topic, r) for r in records]
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                'insert into selfheal.dead_letters (topic, partition, "offset", consumer, reason,'
                " dead_lettered_at, request_number, jurisdiction_id) values (%s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict do nothing",
                rows,
            )
            await cur.execute(
                "insert into selfheal.dead_letter_positions (topic, partition, next_offset) values (%s, %s, %s)"
                " on conflict (topic, partition) do update set next_offset = excluded.next_offset",
                (self.topic, partition, records[-1].offset + 1),
            )
        return len(rows)


def _row(topic: str, record: Any) -> tuple[Any, ...]:
    headers = dict(record.headers or ())
    number, jurisdiction = _named(record.value)
    return (
        topic,
        record.partition,
        record.offset,
        _text(headers.get("dlq.consumer"), "unknown"),
        _text(headers.get("dlq.reason"), "unknown"),
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
        number,
        jurisdiction,
    )


def _text(value: bytes | None, default: str) -> str:
    return value.decode("utf-8", "replace")[:200] if value else default


def _named(value: bytes | None) -> tuple[str | None, str | None]:
    """The request number and jurisdiction an envelope names, when the value is one; nothing else is read."""
    try:
        data = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    number, jurisdiction = data.get("request_id"), data.get("jurisdiction_id")
    try:
        number = request_number(number) if isinstance(number, str) else None
    except InvalidRequestNumber:
        number = None
    jurisdiction = jurisdiction[:64] if isinstance(jurisdiction, str) and jurisdiction else None
    return number, jurisdiction
