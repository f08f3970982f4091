"""A request's complete history from the log: through the request index when there is one, else a whole scan.

With the index (`civicloop_events.request_index`), only the request's records are fetched: each partition is sought
to the first offset still wanted and read forward while the wanted offsets lie in what came back (a stretch of
neighbouring records costs one fetch), then sought again. The index is complete only up to its consumer's position,
so the request's own partition (its key's) is read from there to the end, keeping the request's records: the answer
is the whole history even when the index lags, and costs a seek per stretch plus that tail, not the whole topic.

Either way an event is reported once, where it first stands: a copy with the same `event_id` further on (an older
record published twice) is the same event, not a second one. Entries are in log order (one request's records share
a partition), each the upcast event as JSON with its `partition` and `offset`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from civicloop_events.kafka_connection import client_options
from civicloop_events.log_search import partition_for
from civicloop_events.registry import decode_event
from civicloop_events.request_index import IndexedPositions, indexed_positions
from civicloop_events.topics import partition_extents

# A fetch after a seek brings at most this much of a partition: a request's records are few, and a larger fetch
# reads (and decodes the framing of) records nobody asked for.
FETCH_BYTES = 64 * 1024
# A fetch the broker cannot fill at once (the partition's end) is answered after this long, not the default 500 ms:
# a seek waits for the fetch in flight before its own.
FETCH_WAIT_MS = 10


class LogUnreadable(RuntimeError):
    """The records the index names could not be read (a topic gone, records deleted by retention)."""


def _entries(records: Iterable[ConsumerRecord]) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = decode_event(r.value)
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        history.append({"partition": r.partition, "offset": r.offset, **json.loads(event.model_dump_json())})
    return history


def _consumer(bootstrap: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **client_options(bootstrap),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        **options,
    )


async def indexed_history(
    bootstrap: str, topic: str, request_id: str, index: IndexedPositions, *, timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    """The request's history read at the offsets `index` names, plus its partition's records the index has not
    folded yet."""
    extents = await partition_extents(bootstrap, topic)
    home = partition_for(request_id.encode(), list(extents))
    tps = [TopicPartition(topic, p) for p in sorted({home, *index.offsets})]
    ends = {tp: extents[tp.partition][1] for tp in tps}
    consumer = _consumer(bootstrap, max_partition_fetch_bytes=FETCH_BYTES, fetch_max_wait_ms=FETCH_WAIT_MS)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        records: list[ConsumerRecord] = []
        for tp in tps:
            consumer.assign([tp])  # one at a time: no fetches of partitions not being read
            wanted = [o for o in index.offsets.get(tp.partition, []) if o < ends[tp]]
            if tp.partition == home:
                tail_from = max(index.complete_below.get(home, 0), 0)
                wanted = [o for o in wanted if o < tail_from]
            records += await _read_offsets(consumer, tp, wanted, deadline)
            if tp.partition == home and tail_from < ends[tp]:
                key = request_id.encode()
                tail = await _read_range(consumer, tp, tail_from, ends[tp], deadline)
                records += [r for r in tail if r.key == key]
        return _entries(records)
    finally:
        await consumer.stop()


async def _fetch_from(
    consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int, deadline: float
) -> list[ConsumerRecord]:
    """The records a fetch from `offset` brings (at least one, unless the deadline passes)."""
    consumer.seek(tp, offset)
    while True:
        batch = await consumer.getmany(tp, timeout_ms=200)
        got = [r for r in batch.get(tp, []) if r.offset >= offset]
        if got:
            return got
        if time.monotonic() > deadline:
            raise LogUnreadable(f"no record of {tp.topic}[{tp.partition}] from offset {offset} came back")


async def _read_offsets(
    consumer: AIOKafkaConsumer, tp: TopicPartition, offsets: list[int], deadline: float
) -> list[ConsumerRecord]:
    """The records at `offsets` (ascending) of one partition: a seek per stretch that one fetch does not cover."""
    remaining = list(offsets)
    found: list[ConsumerRecord] = []
    while remaining:
        got = await _fetch_from(consumer, tp, remaining[0], deadline)
        by_offset = {r.offset: r for r in got}
        last = got[-1].offset
        missing = [o for o in remaining if o <= last and o not in by_offset]
        if missing:  # the index names a record the log no longer has
            raise LogUnreadable(f"{tp.topic}[{tp.partition}] has no record at offsets {missing[:5]}")
        found += [by_offset[o] for o in remaining if o <= last]
        remaining = [o for o in remaining if o > last]
    return found


async def _read_range(
    consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int, deadline: float
) -> list[ConsumerRecord]:
    out: list[ConsumerRecord] = []
    position = start
    while position < end:
        got = await _fetch_from(consumer, tp, position, deadline)
        out += [r for r in got if r.offset < end]
        position = got[-1].offset + 1
    return out


async def scanned_history(bootstrap: str, topic: str, request_id: str) -> list[dict[str, Any]]:
    """The request's history read from every partition of the whole topic, from offset 0 (no index needed)."""
    extents = await partition_extents(bootstrap, topic)
    partitions = [TopicPartition(topic, p) for p in extents]
    ends = {tp: extents[tp.partition][1] for tp in partitions}
    consumer = _consumer(bootstrap)
    await consumer.start()
    try:
        consumer.assign(partitions)  # no group, no committed offsets: each starts at its first record
        key = request_id.encode()
        records: list[ConsumerRecord] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records += [
                    r for r in part if r.key == key and r.offset < ends[TopicPartition(r.topic, r.partition)]
                ]
        return _entries(records)
    finally:
        await consumer.stop()


# The consumer group that folds the index in the projections' service (its settings' default).
REQUEST_INDEX_CONSUMER = "projections.request-index.v1"


@dataclass(frozen=True)
class IndexSource:
    """Where the request index is: a database, its schema and the consumer group that folds it."""

    dsn: str
    schema: str = "projections"
    consumer: str = REQUEST_INDEX_CONSUMER


async def request_history(
    bootstrap: str, topic: str, request_id: str, *, index: IndexSource | None
) -> tuple[list[dict[str, Any]], str]:
    """The request's history, through the request index when `index` reaches it, else from the whole topic; and how
    it was read (for the caller to say, so a slow whole scan is never a surprise)."""
    if index is None:
        return await scanned_history(
            bootstrap, topic, request_id
        ), "no request index given: read the whole topic"
    try:
        async with await psycopg.AsyncConnection.connect(index.dsn, autocommit=True) as conn:
            positions = await indexed_positions(
                conn, schema=index.schema, consumer=index.consumer, topic=topic, request_id=request_id
            )
    except psycopg.errors.UndefinedTable:
        how = f"no request index in schema {index.schema!r}: read the whole topic"
        return await scanned_history(bootstrap, topic, request_id), how
    except psycopg.OperationalError as exc:
        how = f"request index unreachable ({type(exc).__name__}): read the whole topic"
        return await scanned_history(bootstrap, topic, request_id), how
    return await indexed_history(bootstrap, topic, request_id, positions), "read through the request index"
