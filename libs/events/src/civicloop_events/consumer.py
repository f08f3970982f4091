"""A consumer whose effects are exactly-once: effect + inbox row + offset position in one PostgreSQL transaction.

The database, not Kafka, is the source of truth for where a consumer stands: on (re)assignment it seeks to the
positions it committed with its writes, so a crash between the DB commit and a Kafka offset commit neither skips nor
double-applies an event. The inbox (consumer, event_id) also absorbs an event published twice (a producer retried
after a crash). A failing handler is retried with back-off, then the record goes to the dead-letter topic; an
unreachable database is waited out instead, since dead-lettering every event during an outage would lose the log's
order.

Records are applied in batches: a poll, across every partition it returned (at most `batch_max_records`, and cut
where a transaction has run `batch_max_ms`), is one transaction with one inbox statement and one statement for every
partition's position: under a trickle a poll holds an event or two, and the fixed cost of a transaction is what
counts. The handlers run one after the other in it; when one fails, the batch rolls back, the other partitions run
again together, and the failing event's partition then runs in a transaction of its own with each handler in a
savepoint, so the failing event is retried and dead-lettered alone while the rest commits without waiting for its
retries. Within a partition the log's order holds throughout.

A consumer gives either a `handler` (one event per call) or a `batch_handler`: the batch's new events in one call,
so a read model can load every row the batch touches in one query, fold in memory and write once. When a batch
handler fails on several partitions' events, each of them runs again in a transaction of its own; when it fails on
one partition's, that partition runs again calling it with one event at a time, each in its savepoint.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from civicloop_events.applied import CHANNEL, PositionKey, listener_for, position_notice
from civicloop_events.envelope import Event
from civicloop_events.kafka_connection import client_options
from civicloop_events.producer import EventProducer
from civicloop_events.registry import REGISTRY, EventRegistry, UnknownEventType, decode_event
from civicloop_events.tracing import extract_context

log = logging.getLogger("civicloop.events.consumer")
_tracer = trace.get_tracer("civicloop.events")

Handler = Callable[[psycopg.AsyncConnection[Any], Event[Any]], Awaitable[None]]
# Called once per batch, inside its transaction, with the batch's new events (those already in the inbox, and
# undecodable records, left out): one partition's after another, each partition's in log order (events of one
# request share a partition, so theirs are in log order). It must leave the same state as applying them one by
# one: after a failure the runner calls it again with fewer partitions, then one event at a time.
BatchHandler = Callable[[psycopg.AsyncConnection[Any], Sequence[Event[Any]]], Awaitable[None]]

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


@dataclass(frozen=True, slots=True)
class _Item:
    """A record of a batch and its event (or why it could not be decoded)."""

    record: ConsumerRecord
    event: Event[Any] | Exception


@dataclass(frozen=True, slots=True)
class _Failed:
    """A handler's failures on one record so far, carried into the batch that retries it."""

    attempts: int
    error: Exception


class _HandlerFailed(Exception):
    """A handler failed in a batch run without savepoints: the batch rolls back and runs again with them.

    `record` and `event` are None when a batch handler failed on several events: which one is not known yet;
    `partitions` are those of the events the failed call was given."""

    def __init__(
        self,
        record: ConsumerRecord | None,
        event: Event[Any] | None,
        error: Exception,
        partitions: set[int],
    ) -> None:
        super().__init__(repr(error))
        self.record, self.event, self.error, self.partitions = record, event, error, partitions


@dataclass(slots=True)
class _Partition:
    """One partition's records of a poll not applied yet, and what failures among them have taught so far."""

    tp: TopicPartition
    pending: list[_Item]
    failed: dict[int, _Failed] = field(
        default_factory=dict
    )  # offset -> a handler's failures not yet resolved
    alone_through: int = -1  # a batch handler failed on these and other partitions' events: apart up to here
    careful_through: int = -1  # a batch handler failed on these events up to here: one by one

    @property
    def careful(self) -> bool:
        """Its next records run in a transaction of their own, each handler in a savepoint."""
        return bool(self.failed) or self.pending[0].record.offset <= self.careful_through

    @property
    def alone(self) -> bool:
        """Its next records run in a transaction of their own."""
        return self.careful or self.pending[0].record.offset <= self.alone_through


class _SeekToStoredPositions(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.runner._seek_to_stored(assigned)


class ConsumerRunner:
    """Runs `handler(conn, event)` (or `batch_handler(conn, events)`) for every event of `topic`, exactly once per
    consumer name."""

    def __init__(
        self,
        *,
        name: str,
        bootstrap_servers: str,
        topic: str,
        dead_letter_topic: str,
        pool: AsyncConnectionPool,
        schema: str,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        producer: EventProducer,
        registry: EventRegistry = REGISTRY,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 5.0,
        session_timeout_ms: int = 10_000,
        batch_max_records: int = 500,
        batch_max_ms: float = 100.0,
        batch_linger_ms: float = 0.0,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic
        self.pool = pool
        self.schema = _schema(schema)
        if handler is not None and batch_handler is None:
            self.handler = handler
        elif batch_handler is not None and handler is None:
            self.handler = _one_at_a_time(batch_handler)
        else:
            raise ValueError("a consumer takes exactly one of handler and batch_handler")
        self.batch_handler = batch_handler
        self.producer = producer
        self.registry = registry
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.batch_max_records = batch_max_records
        self.batch_max_ms = batch_max_ms
        # Records the next transaction takes: with a handler per event, about what fits in `batch_max_ms` at the pace
        # seen so far, since a transaction the time bound cuts short wrote and removed again the inbox rows of the
        # records it did not reach. A batch handler's batch is never cut: it takes `batch_max_records`.
        self._batch_room = batch_max_records
        # After a poll that brought fewer records than a batch holds, wait this long for more before applying: under a
        # trickle of events each would otherwise be a transaction of its own (begin, inbox, handler, position, commit),
        # and that fixed cost per batch, in every consumer, is most of the system's CPU per request. Idle costs nothing.
        self.batch_linger_ms = batch_linger_ms
        # Called after each batch commits: a handler that wakes someone for what it wrote must not do it before
        # the commit, or the one woken may look before the rows are there.
        self.on_committed = on_committed
        self._consumer = AIOKafkaConsumer(
            **client_options(bootstrap_servers),
            group_id=name,
            client_id=name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(1000, session_timeout_ms // 5),
            max_poll_records=batch_max_records,
        )
        self._dead_lettered: set[tuple[int, int]] = (
            set()
        )  # (partition, offset) forwarded, batch not committed
        self._stopping = asyncio.Event()
        self._started = False
        # Kafka offsets to commit, latest per partition: committed in the background, off the apply path.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._commit_wanted = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None

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
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
            self._committer = None
        await self._consumer.stop()  # safe on a client that never started
        self._started = False

    @property
    def connected(self) -> bool:
        return self._started and bool(self._consumer.assignment())

    async def run(self) -> None:
        """Poll and apply until `stop()`: each poll in as few transactions as the bounds allow, each partition's
        records in log order."""
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_kafka_offsets())
        while not self._stopping.is_set():
            await self._apply_poll(await self._poll())

    # -- internals -------------------------------------------------------------------------------------------------
    async def _poll(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """A poll, and when it brought less than a batch, what arrives within the linger (log order kept)."""
        batches: dict[TopicPartition, list[ConsumerRecord]] = await self._consumer.getmany(
            timeout_ms=200, max_records=self.batch_max_records
        )
        polled = sum(len(records) for records in batches.values())
        if not polled or polled >= self.batch_max_records or self.batch_linger_ms <= 0:
            return batches
        await asyncio.sleep(self.batch_linger_ms / 1000)
        if self._stopping.is_set():
            return batches  # not applied: a stopped client polls no more
        more = await self._consumer.getmany(timeout_ms=0, max_records=self.batch_max_records - polled)
        for tp, records in more.items():
            batches.setdefault(tp, []).extend(records)
        return batches

    async def _seek_to_stored(self, assigned: Any) -> None:
        async with self.pool.connection() as conn:
            stored = await read_positions(conn, self.schema, self.name, self.topic)
        new = [tp for tp in assigned if tp.partition not in stored]
        # A partition never applied starts at its first offset, sought explicitly: `seek_to_beginning` only asks
        # for a reset, which the group's committed offset (informational, and left behind by an earlier run of
        # the same group, e.g. before a rebuild) could still win, skipping the partition.
        beginnings = await self._consumer.beginning_offsets(new) if new else {}
        for tp in assigned:
            self._consumer.seek(tp, stored[tp.partition] if tp.partition in stored else beginnings[tp])
            POSITION.labels(self.name, str(tp.partition)).set(stored.get(tp.partition, 0))

    async def _commit_kafka_offsets(self) -> None:
        """Commits the latest applied offsets to Kafka, in the background and coalesced.

        Informational (lag dashboards, `kafka-consumer-groups`): the DB position is authoritative, so a failure
        here is harmless, and a slow or absent group coordinator must not hold up applying the log."""
        while True:
            await self._commit_wanted.wait()
            self._commit_wanted.clear()
            offsets, self._uncommitted = self._uncommitted, {}
            try:
                await self._consumer.commit(offsets)
            except Exception as exc:
                log.info("kafka offset commit skipped", extra={"consumer": self.name, "error": repr(exc)})

    def _decode(self, record: ConsumerRecord) -> Event[Any] | Exception:
        try:
            return decode_event(record.value, self.registry)
        except (UnknownEventType, ValueError) as exc:
            return exc  # a record this reader cannot understand will not improve with retries

    async def _apply_poll(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Applies a poll's records: every partition's in one transaction while no handler fails; a partition whose
        records failed runs apart afterwards, so its retries and back-off do not hold back the others."""
        parts = [
            _Partition(tp, [_Item(record, self._decode(record)) for record in records])
            for tp, records in polled.items()
            if records
        ]
        delay = self.backoff_initial_s
        while not self._stopping.is_set():
            parts = [part for part in parts if part.pending]
            if not parts:
                return
            # Those without a failure together; then one that must run alone; the careful (retrying) ones last.
            group = [part for part in parts if not part.alone] or [min(parts, key=lambda p: p.careful)]
            slices = self._slices(group)
            started = time.monotonic()
            try:
                done = await self._apply_batch(slices, careful=group[0].careful)
            except _HandlerFailed as exc:
                # Rolled back whole: the failing partition runs apart, the others go on together.
                RETRIES.labels(self.name).inc()
                self._set_apart(exc, slices)
                continue
            except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout) as exc:
                # Infrastructure, not the events: the whole batch rolled back; wait it out and apply it again,
                # without counting towards anyone's dead-letter limit.
                log.warning(
                    "database unavailable, retrying", extra={"consumer": self.name, "error": repr(exc)}
                )
                if self._stopping.is_set():
                    raise asyncio.CancelledError from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            delay = self.backoff_initial_s
            if (
                self.batch_handler is None and not group[0].careful
            ):  # a careful batch's pace includes back-off
                taken = sum(len(batch) for _, batch in slices)
                self._fit_batch_room(time.monotonic() - started, sum(done), taken)
            if self.on_committed is not None:
                self.on_committed()
            for (part, batch), count in zip(slices, done, strict=True):
                if count:
                    nxt = batch[count - 1].record.offset + 1
                    part.pending = part.pending[count:]
                    part.failed = {offset: f for offset, f in part.failed.items() if offset >= nxt}
                    self._uncommitted[part.tp] = nxt
                    self._commit_wanted.set()

    def _fit_batch_room(self, elapsed_s: float, reached: int, taken: int) -> None:
        if reached < taken:  # cut short: take what fitted next time, with a margin
            self._batch_room = max(1, int(0.8 * reached))
        elif elapsed_s > 0:  # a small batch's pace includes the transaction's fixed cost: only grow on it
            fits = int(0.8 * self.batch_max_ms / 1000 * reached / elapsed_s)
            self._batch_room = min(self.batch_max_records, max(self._batch_room, fits))

    def _slices(self, group: list[_Partition]) -> list[tuple[_Partition, list[_Item]]]:
        """The records of `group` one transaction takes: each partition's next ones, no more than a batch holds."""
        room, slices = self._batch_room, []
        for part in group:
            batch = part.pending[:room]
            slices.append((part, batch))
            room -= len(batch)
            if room <= 0:
                break
        return slices

    def _set_apart(self, exc: _HandlerFailed, slices: list[tuple[_Partition, list[_Item]]]) -> None:
        """What a failed batch teaches: the failing record retried in a savepoint, or, when a batch handler failed
        and which event made it fail is not known, its partitions apart (several) or its events one by one (one)."""
        involved = [(part, batch) for part, batch in slices if part.tp.partition in exc.partitions]
        if exc.record is None or exc.event is None:
            if len(involved) > 1:
                for part, batch in involved:
                    part.alone_through = batch[-1].record.offset
                log.warning(
                    "batch handler failed, applying each partition's events apart",
                    extra={"consumer": self.name, "partitions": len(involved), "error": repr(exc.error)},
                )
            else:
                [(part, batch)] = involved
                part.careful_through = batch[-1].record.offset
                log.warning(
                    "batch handler failed, applying its events one by one",
                    extra={"consumer": self.name, "records": len(batch), "error": repr(exc.error)},
                )
            return
        [(part, _)] = involved
        part.failed[exc.record.offset] = _Failed(1, exc.error)  # this first attempt counted
        if self.max_attempts > 1:
            self._log_retry(exc.event, 1, exc.error)

    async def _apply_batch(self, slices: list[tuple[_Partition, list[_Item]]], *, careful: bool) -> list[int]:
        """One transaction: the inbox rows of every partition's slice in one statement, each new event's handler
        (or the batch handler once), every partition's position in one statement.

        The handlers run without savepoints until one fails (`_HandlerFailed` rolls the batch back); a `careful`
        batch (one partition whose records failed before) runs with a savepoint per event, so the failing one is
        retried and dead-lettered alone. Returns how many records of each slice it went past: all of them, unless
        the time bound or a stop cut the batch short (a batch handler's batch is never cut: it runs once, at the
        end).
        """
        batch_handler = None if careful else self.batch_handler
        together = batch_handler is not None
        gathered: list[tuple[ConsumerRecord, Event[Any]]] = []
        deadline = time.monotonic() + self.batch_max_ms / 1000
        applied: Tally[str] = Tally()
        duplicates = 0
        done = [0] * len(slices)
        async with self.pool.connection() as conn, conn.transaction():
            fresh = await self._claim_inbox(conn, [item for _, batch in slices for item in batch])
            forgotten: set[UUID] = set()  # dead-lettered in this batch: their inbox rows are gone again
            reached = 0
            for i, (part, batch) in enumerate(slices):
                for item in batch:
                    if reached and not together and (time.monotonic() >= deadline or self._stopping.is_set()):
                        break
                    reached += 1
                    done[i] += 1
                    event = item.event
                    if isinstance(event, Exception):
                        await self._dead_letter(item.record, reason="undecodable", error=event)
                        continue
                    if event.event_id in fresh:
                        fresh.discard(event.event_id)
                    elif event.event_id in forgotten:
                        # A later copy of an event dead-lettered above is tried anew, as it would be on its own.
                        forgotten.discard(event.event_id)
                        await self._claim_inbox(conn, [item])
                    else:
                        duplicates += 1
                        continue
                    if together:
                        gathered.append((item.record, event))
                    elif not careful:
                        await self._handle_unguarded(conn, item.record, event)
                        applied[event.type] += 1
                    elif await self._handle(conn, item.record, event, part.failed.get(item.record.offset)):
                        applied[event.type] += 1
                    else:
                        forgotten.add(event.event_id)
                        await self._forget_inbox(conn, [event.event_id])
                if done[i] < len(batch):
                    break  # cut short: the rest waits for the next batch
            if gathered and batch_handler is not None:
                await self._handle_together(conn, batch_handler, gathered)
                applied.update(event.type for _, event in gathered)
            if fresh:  # cut short: the rows of the events this transaction did not reach
                await self._forget_inbox(conn, list(fresh))
            positions = {
                part.tp.partition: batch[count - 1].record.offset + 1
                for (part, batch), count in zip(slices, done, strict=True)
                if count
            }
            await self._store_positions(conn, positions)
        # Committed: the records dead-lettered behind the stored positions will not come again.
        self._dead_lettered = {(p, o) for p, o in self._dead_lettered if o >= positions.get(p, 0)}
        for partition, nxt in positions.items():
            POSITION.labels(self.name, str(partition)).set(nxt)
        for type_, count in applied.items():
            APPLIED.labels(self.name, type_).inc(count)
        if duplicates:
            DUPLICATES.labels(self.name).inc(duplicates)
        return done

    async def _claim_inbox(self, conn: psycopg.AsyncConnection[Any], items: list[_Item]) -> set[UUID]:
        """Inserts the inbox rows of `items` (any of the topic's partitions) in one statement; the event ids that
        were not there yet."""
        first: dict[UUID, ConsumerRecord] = {}  # event id -> the record of its first copy in the batch
        for item in items:
            if not isinstance(item.event, Exception):
                first.setdefault(item.event.event_id, item.record)
        if not first:
            return set()
        records = first.values()
        cur = await conn.execute(
            f"insert into {self.schema}.inbox (consumer, event_id, topic, partition, kafka_offset)"
            " select %s, t.event_id, %s, t.partition, t.kafka_offset"
            " from unnest(%s::uuid[], %s::integer[], %s::bigint[]) as t(event_id, partition, kafka_offset)"
            " on conflict do nothing returning event_id",
            (
                self.name,
                self.topic,
                list(first),
                [r.partition for r in records],
                [r.offset for r in records],
            ),
        )
        return {row[0] for row in await cur.fetchall()}

    async def _forget_inbox(self, conn: psycopg.AsyncConnection[Any], event_ids: list[UUID]) -> None:
        await conn.execute(
            f"delete from {self.schema}.inbox where consumer = %s and event_id = any(%s::uuid[])",
            (self.name, event_ids),
        )

    async def _handle_unguarded(
        self, conn: psycopg.AsyncConnection[Any], record: ConsumerRecord, event: Event[Any]
    ) -> None:
        """The usual case: no round trip beyond the handler's own; a failure rolls the whole batch back."""
        try:
            with self._span(record, event):
                await self.handler(conn, event)
        except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout):
            raise  # the database, not the event: the whole batch waits it out
        except Exception as exc:
            raise _HandlerFailed(record, event, exc, {record.partition}) from exc

    async def _handle_together(
        self,
        conn: psycopg.AsyncConnection[Any],
        batch_handler: BatchHandler,
        gathered: list[tuple[ConsumerRecord, Event[Any]]],
    ) -> None:
        """The batch handler, once for the batch: one span, linked to each event's trace when it is recorded."""
        partitions = {record.partition for record, _ in gathered}
        try:
            with _tracer.start_as_current_span(
                "apply batch",
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.consumer.group.name": self.name,
                    "messaging.batch.message_count": len(gathered),
                },
            ) as span:
                if span.is_recording():  # each link parses its record's headers: no cost when tracing is off
                    self._link_traces(span, gathered, partitions)
                await batch_handler(conn, [event for _, event in gathered])
        except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout):
            raise  # the database, not the events: the whole batch waits it out
        except Exception as exc:
            if len(gathered) == 1:
                raise _HandlerFailed(*gathered[0], exc, partitions) from exc
            raise _HandlerFailed(None, None, exc, partitions) from exc

    @staticmethod
    def _link_traces(
        span: trace.Span, gathered: list[tuple[ConsumerRecord, Event[Any]]], partitions: set[int]
    ) -> None:
        if len(partitions) == 1:
            first = gathered[0][0]
            span.set_attribute("messaging.kafka.partition", first.partition)
            span.set_attribute("messaging.kafka.offset", first.offset)
        for record, _ in gathered:
            context = trace.get_current_span(extract_context(record.headers)).get_span_context()
            if context.is_valid:
                span.add_link(context)

    async def _handle(
        self,
        conn: psycopg.AsyncConnection[Any],
        record: ConsumerRecord,
        event: Event[Any],
        failed: _Failed | None,
    ) -> bool:
        """Runs the handler in a savepoint, retried with back-off; False once it has been dead-lettered."""
        if (record.partition, record.offset) in self._dead_lettered:
            return False  # forwarded before this batch rolled back and came again
        attempt, error = (failed.attempts, failed.error) if failed else (0, None)
        while attempt < self.max_attempts:
            if attempt:
                if self._stopping.is_set():
                    raise asyncio.CancelledError
                await asyncio.sleep(min(self.backoff_initial_s * 2 ** (attempt - 1), self.backoff_max_s))
            attempt += 1
            try:
                with self._span(record, event):
                    async with conn.transaction():  # a savepoint: a failure undoes this event alone
                        await self.handler(conn, event)
                return True
            except (psycopg.OperationalError, psycopg.errors.ConnectionTimeout):
                raise  # the database, not the event: the whole batch waits it out
            except Exception as exc:
                RETRIES.labels(self.name).inc()
                error = exc
                if attempt < self.max_attempts:
                    self._log_retry(event, attempt, exc)
        reason = error or ValueError(f"max_attempts is {self.max_attempts}: no attempt allowed")
        await self._dead_letter(record, reason="handler_failed", error=reason)
        return False

    def _log_retry(self, event: Event[Any], attempt: int, error: Exception) -> None:
        log.warning(
            "handler failed, retrying",
            extra={
                "consumer": self.name,
                "event_id": str(event.event_id),
                "attempt": attempt,
                "error": repr(error),
            },
        )

    def _span(self, record: ConsumerRecord, event: Event[Any]) -> AbstractContextManager[trace.Span]:
        return _tracer.start_as_current_span(
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
        )

    async def _store_positions(self, conn: psycopg.AsyncConnection[Any], positions: dict[int, int]) -> None:
        """Every partition's next offset, each with its notice (delivered at commit, for read-your-writes waiters),
        in one round trip."""
        notices = [
            position_notice(PositionKey(self.schema, self.name, self.topic, partition), nxt)[1]
            for partition, nxt in positions.items()
        ]
        await conn.execute(
            f"with stored as (insert into {self.schema}.consumer_positions (consumer, topic, partition, next_offset)"
            " select %s, %s, p.partition, p.next_offset"
            " from unnest(%s::integer[], %s::bigint[]) as p(partition, next_offset)"
            " on conflict (consumer, topic, partition)"
            " do update set next_offset = excluded.next_offset, updated_at = now() returning partition)"
            " select pg_notify(%s, n.payload)"
            " from unnest(%s::integer[], %s::text[]) as n(partition, payload) join stored using (partition)",
            (
                self.name,
                self.topic,
                list(positions),
                list(positions.values()),
                CHANNEL,
                list(positions),
                notices,
            ),
        )

    async def _dead_letter(self, record: ConsumerRecord, *, reason: str, error: BaseException) -> None:
        """Forwards `record` to the dead-letter topic; the batch then passes it with no inbox row, so a redrive
        after a fix can still apply it. A batch that rolled back and comes again does not forward it twice."""
        if (record.partition, record.offset) in self._dead_lettered:
            return
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
        # Awaited before the batch commits its position: the position never passes a record the DLQ lacks.
        await self.producer.publish_raw(self.dead_letter_topic, record.value, key=record.key, headers=headers)
        self._dead_lettered.add((record.partition, record.offset))
        DEAD_LETTERED.labels(self.name, reason).inc()


def _one_at_a_time(batch_handler: BatchHandler) -> Handler:
    """A batch handler as a handler: what a careful batch calls, one event in each savepoint."""

    async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await batch_handler(conn, [event])

    return handle
