"""Is this event already on the log? Read its partition from a moment before it was first stored.

Before a pending outbox row is published again, its earlier attempt may have reached the broker unheard (an
acknowledgement lost with the connection, or a send that landed after its caller had given up in another process or
before a restart). The record would be on the event's partition (its key's), at or after the time the row was
stored. So the search reads that partition from the first record stamped `since` minus a margin for the clocks of
the database and the producer's host, to the end, and compares each record's event id: the `event_id` header, or
for records written before it existed, the envelope's own. It runs only when a pending row is published again, never
on a command's first publish.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from civicloop_events.envelope import Event
from civicloop_events.kafka_connection import client_options
from civicloop_events.producer import Position

# Record timestamps come from the producer's host, `since` from the database's clock: look this much earlier.
CLOCK_MARGIN = timedelta(seconds=60)


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the producer sends `key` to (aiokafka's default partitioner, murmur2 as the Java client)."""
    return int(DefaultPartitioner()(key, sorted(partitions), sorted(partitions)))


def _event_id(headers: Iterable[tuple[str, bytes]], value: bytes | None) -> UUID | None:
    for name, header in headers:
        if name == "event_id":
            return UUID(header.decode())
    try:
        return UUID(json.loads(value or b"null")["event_id"])
    except (TypeError, KeyError, ValueError):  # JSONDecodeError is a ValueError
        return None  # not an envelope: it is not one of ours


async def find_on_log(
    bootstrap_servers: str,
    topic: str,
    partitions: Sequence[int],
    events: Sequence[Event[Any]],
    *,
    since: datetime,
    timeout_s: float,
) -> list[Position | None]:
    """Where each of `events` stands on `topic` (whose `partitions` the producer knows), or None if it is not there;
    records stamped before `since` (less the margin) are not read. Raises `KafkaError` or `TimeoutError` when the
    log cannot be read to its end."""
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap_servers),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        await consumer.start()  # inside: a start that fails still releases what it opened
        keyed = {partition_for(e.key, partitions) for e in events if e.key is not None}
        wanted = keyed if all(e.key is not None for e in events) else set(partitions)
        tps = [TopicPartition(topic, p) for p in sorted(wanted)]
        consumer.assign(tps)
        since_ms = int((since - CLOCK_MARGIN).timestamp() * 1000)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        ends = await consumer.end_offsets(tps)
        ids = {e.event_id for e in events}
        found: dict[UUID, Position] = {}
        reading = []
        for tp in tps:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                consumer.seek(tp, start.offset)
                reading.append(tp)
        while reading and len(found) < len(ids):
            batch = await consumer.getmany(*reading, timeout_ms=int(timeout_s * 1000))
            if not batch:
                raise TimeoutError(f"{topic} could not be read to its end within {timeout_s}s")
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    event_id = _event_id(record.headers, record.value)
                    if event_id in ids and event_id not in found:
                        found[event_id] = Position(topic, tp.partition, record.offset)
            reading = [tp for tp in reading if await consumer.position(tp) < ends[tp]]
        return [found.get(e.event_id) for e in events]
    finally:
        await consumer.stop()
