"""The one way events reach the log: an idempotent aiokafka producer with acks=all, keyed by request id.

One record per event: a send whose caller stopped waiting (a timeout, a cancel) is not withdrawn. aiokafka keeps an
appended record and, being idempotent, retries it until the broker takes it, so it may land long after its caller
gave up. Sending the same event again then would put it on the log twice (the idempotent producer only drops its own
retries of one send). So the producer remembers the sends of the events it was not heard to deliver: a later
publish of the same `event_id` awaits that send (or answers with where it landed) instead of sending a second
record. What a process cannot know, a send by another process or before a restart, is looked up on the log itself
(`civicloop_events.log_search`).
"""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, UnknownProducerId
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from civicloop_events.envelope import Event
from civicloop_events.kafka_connection import broker_answers, client_options, producer_options
from civicloop_events.registry import encode_event
from civicloop_events.tasks import cancel_and_wait
from civicloop_events.tracing import inject_headers

_tracer = trace.get_tracer("civicloop.events")
PUBLISHED = Counter("civicloop_events_published_total", "Events acknowledged by the broker", ["type"])
PUBLISH_SECONDS = Histogram("civicloop_events_publish_seconds", "Time from send to broker acknowledgement")
SEND_AWAITED = Counter(
    "civicloop_events_earlier_send_awaited_total",
    "Publishes of an event answered by an earlier send of it (its caller had stopped waiting) instead of a new record",
)

RENEWED = Counter(
    "civicloop_events_producer_renewed_total",
    "Kafka producers replaced because the broker refused their sequence numbers (after an outage lost a batch)",
)
# Errors after which an idempotent producer's every later send would be refused too.
BROKEN_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId)
# How long a replaced producer may take to stop (it flushes what it still holds; the broker refuses it anyway).
RETIRE_WITHIN_S = 5.0

# How many acknowledged sends whose callers had stopped waiting are remembered (each an id and a position).
REMEMBERED_SENDS = 10_000
# How many searches of the log (`log_search`, each its own consumer) may run at once through one producer: after an
# outage many retries arrive together, and each beyond these waits (within its timeout) instead of adding a client.
SEARCHES_AT_ONCE = 4


@dataclass(frozen=True)
class Position:
    """Where an event landed; a reader that has applied `offset` of `partition` has seen it."""

    topic: str
    partition: int
    offset: int

    def token(self) -> str:
        return f"{self.partition}:{self.offset}"


def _position(meta: Any) -> Position:
    """Where aiokafka's record metadata says the record landed."""
    return Position(meta.topic, meta.partition, meta.offset)


class EventProducer:
    """Publishes envelopes. `publish` returns only once every in-sync replica has the event (acks=all)."""

    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str = "civicloop") -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self._producer = self._client()
        self._started = False
        self._renewing = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()
        # Sends whose caller stopped waiting: still unsettled, or acknowledged (where the record landed).
        self._unsettled: dict[UUID, asyncio.Future[Any]] = {}
        self._landed: OrderedDict[UUID, Position] = OrderedDict()
        self.search_slots = asyncio.Semaphore(SEARCHES_AT_ONCE)

    def _client(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **client_options(self.bootstrap_servers),
            client_id=self.client_id,
            acks="all",
            enable_idempotence=True,  # broker-side dedupe of the client's own retries
            **producer_options(),
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()  # release the half-open client before the caller retries or gives up
            raise
        self._started = True

    async def stop(self) -> None:
        await self._producer.stop()  # safe on a client that never started
        self._started = False
        for retired in list(self._retired):
            await cancel_and_wait(retired)

    async def _renew_if_broken(self, error: BaseException, broken: AIOKafkaProducer) -> None:
        """A send refused for its producer's sequence state (a batch lost in a broker outage leaves a gap in the
        idempotent producer's numbering, and aiokafka does not start a new sequence itself): every later send of
        that client would be refused too. Swap in a new client, with a new producer id; the caller's send failed
        (its row stays pending and is published again, after a look on the log)."""
        if not isinstance(error, BROKEN_PRODUCER) or not self._started:
            return
        async with self._renewing:
            if self._producer is not broken:
                return  # a concurrent call renewed it already
            fresh = self._client()
            await fresh.start()
            self._producer = fresh
        RENEWED.inc()
        retiring = asyncio.create_task(
            asyncio.wait_for(broken.stop(), RETIRE_WITHIN_S), name="retire-producer"
        )
        self._retired.add(retiring)
        retiring.add_done_callback(self._retired.discard)

    @property
    def connected(self) -> bool:
        client = self._producer.client
        return self._started and any(client._conns.values())  # a live connection to at least one broker

    async def partitions(self, topic: str | None = None) -> list[int]:
        """The partitions of `topic` (the producer's own) as this producer knows them: where its keys go."""
        return sorted(await self._producer.partitions_for(topic or self.topic))

    async def reachable(self) -> bool:
        """A broker answers this producer now (for /readyz; `kafka_connection.broker_answers`)."""
        return self._started and await broker_answers(self._producer.client)

    async def publish(self, event: Event[Any], *, topic: str | None = None) -> Position:
        target = topic or self.topic
        with (
            _tracer.start_as_current_span(
                f"publish {event.type}",
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": target,
                    "civicloop.event_id": str(event.event_id),
                    "civicloop.request_id": event.request_id or "",
                },
            ) as span,
            PUBLISH_SECONDS.time(),
        ):
            earlier = self._earlier_send(event.event_id)
            if isinstance(earlier, Position):
                return earlier
            client = self._producer
            try:
                if earlier is None:
                    earlier = await self._send(target, event, inject_headers())
                position = _position(await self._settled(event.event_id, earlier))
            except KafkaError as exc:
                await self._renew_if_broken(exc, client)
                raise
            span.set_attribute("messaging.kafka.partition", position.partition)
            span.set_attribute("messaging.kafka.offset", position.offset)
        PUBLISHED.labels(event.type).inc()
        return position

    async def publish_many(self, events: Sequence[Event[Any]], *, topic: str | None = None) -> list[Position]:
        """Every event sent in the order given, then every acknowledgement awaited (acks=all, as `publish`).

        One span and one wait for the lot instead of one per event: what a consumer reacting to a batch needs. The
        producer appends each record to its partition's batch as it is sent, so one request's events keep their
        order. If any is not acknowledged, this raises after every send has settled (none is left unobserved)."""
        if not events:
            return []
        target = topic or self.topic
        with (
            _tracer.start_as_current_span(
                f"publish {len(events)} events",
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": target,
                    "messaging.batch.message_count": len(events),
                },
            ),
            PUBLISH_SECONDS.time(),
        ):
            trace_headers = inject_headers()
            client = self._producer
            sent: list[asyncio.Future[Any] | Position] = []
            try:
                for event in events:
                    sent.append(
                        self._earlier_send(event.event_id) or await self._send(target, event, trace_headers)
                    )
                waiting = [s for s in sent if not isinstance(s, Position)]
                if waiting:  # one wait for the lot, shielded: a caller that stops waiting withdraws no send
                    await asyncio.shield(asyncio.gather(*waiting, return_exceptions=True))
            except asyncio.CancelledError:
                for event, one in zip(events, sent, strict=False):
                    if not isinstance(one, Position) and not one.done():
                        self._remember(event.event_id, one)
                raise
        failed = [e for one in sent if not isinstance(one, Position) and (e := one.exception()) is not None]
        if failed:
            await self._renew_if_broken(failed[0], client)
            raise failed[0]
        for type_, count in Tally(event.type for event in events).items():
            PUBLISHED.labels(type_).inc(count)
        return [one if isinstance(one, Position) else _position(one.result()) for one in sent]

    async def _send(self, target: str, event: Event[Any], trace_headers: list[tuple[str, bytes]]) -> Any:
        """Append the record to its partition's batch; the future of its acknowledgement."""
        # `event_id` is what `log_search` compares without decoding the value.
        headers = [
            ("event_type", event.type.encode()),
            ("schema_version", str(event.schema_version).encode()),
            ("event_id", str(event.event_id).encode()),
            *trace_headers,
        ]
        return await self._producer.send(target, encode_event(event), key=event.key, headers=headers)

    def _earlier_send(self, event_id: UUID) -> asyncio.Future[Any] | Position | None:
        """A send of this event whose caller stopped waiting: its future if unsettled, where it landed if
        acknowledged, None if there was none (or it failed, so nothing of it is on its way)."""
        if (unsettled := self._unsettled.get(event_id)) is not None:
            SEND_AWAITED.inc()
            return unsettled
        if (landed := self._landed.get(event_id)) is not None:
            SEND_AWAITED.inc()
            return landed
        return None

    async def _settled(self, event_id: UUID, sent: asyncio.Future[Any]) -> Any:
        """Await the acknowledgement; if the caller stops waiting first, the send is remembered until it settles."""
        try:
            return await asyncio.shield(sent)
        except asyncio.CancelledError:
            if not sent.done():
                self._remember(event_id, sent)
            raise

    def _remember(self, event_id: UUID, sent: asyncio.Future[Any]) -> None:
        self._unsettled[event_id] = sent

        def settled(future: asyncio.Future[Any]) -> None:
            if self._unsettled.get(event_id) is future:
                del self._unsettled[event_id]
            if future.cancelled() or future.exception() is not None:
                return  # not delivered: a later publish sends it anew (or finds it on the log)
            meta = future.result()
            self._landed[event_id] = Position(meta.topic, meta.partition, meta.offset)
            while len(self._landed) > REMEMBERED_SENDS:
                self._landed.popitem(last=False)

        sent.add_done_callback(settled)

    async def publish_raw(
        self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Position:
        """For the dead-letter path: forward bytes exactly as they were read."""
        meta = await self._producer.send_and_wait(topic, value, key=key, headers=headers)
        return Position(meta.topic, meta.partition, meta.offset)
