"""The one way events reach the log: an idempotent aiokafka producer with acks=all, keyed by request id."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from civicloop_events.envelope import Event
from civicloop_events.kafka_connection import broker_answers, client_options, producer_options
from civicloop_events.registry import encode_event
from civicloop_events.tracing import inject_headers

_tracer = trace.get_tracer("civicloop.events")
PUBLISHED = Counter("civicloop_events_published_total", "Events acknowledged by the broker", ["type"])
PUBLISH_SECONDS = Histogram("civicloop_events_publish_seconds", "Time from send to broker acknowledgement")


@dataclass(frozen=True)
class Position:
    """Where an event landed; a reader that has applied `offset` of `partition` has seen it."""

    topic: str
    partition: int
    offset: int

    def token(self) -> str:
        return f"{self.partition}:{self.offset}"


class EventProducer:
    """Publishes envelopes. `publish` returns only once every in-sync replica has the event (acks=all)."""

    def __init__(self, bootstrap_servers: str, topic: str, *, client_id: str = "civicloop") -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            **client_options(bootstrap_servers),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,  # broker-side dedupe of the client's own retries
            **producer_options(),
            request_timeout_ms=30_000,
        )
        self._started = False

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

    @property
    def connected(self) -> bool:
        client = self._producer.client
        return self._started and any(client._conns.values())  # a live connection to at least one broker

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
            headers = [
                ("event_type", event.type.encode()),
                ("schema_version", str(event.schema_version).encode()),
                *inject_headers(),
            ]
            meta = await self._producer.send_and_wait(
                target, encode_event(event), key=event.key, headers=headers
            )
            span.set_attribute("messaging.kafka.partition", meta.partition)
            span.set_attribute("messaging.kafka.offset", meta.offset)
        PUBLISHED.labels(event.type).inc()
        return Position(meta.topic, meta.partition, meta.offset)

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
            sent = [
                await self._producer.send(
                    target,
                    encode_event(event),
                    key=event.key,
                    headers=[
                        ("event_type", event.type.encode()),
                        ("schema_version", str(event.schema_version).encode()),
                        *trace_headers,
                    ],
                )
                for event in events
            ]
            acknowledged = await asyncio.gather(*sent, return_exceptions=True)
        failed = [a for a in acknowledged if isinstance(a, BaseException)]
        if failed:
            raise failed[0]
        for type_, count in Tally(event.type for event in events).items():
            PUBLISHED.labels(type_).inc(count)
        return [Position(meta.topic, meta.partition, meta.offset) for meta in acknowledged]  # type: ignore[union-attr]

    async def publish_raw(
        self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Position:
        """For the dead-letter path: forward bytes exactly as they were read."""
        meta = await self._producer.send_and_wait(topic, value, key=key, headers=headers)
        return Position(meta.topic, meta.partition, meta.offset)
