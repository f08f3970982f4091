"""Publishing geo's reactions: acks=all through the contract's idempotent producer, bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from civicloop_events import Event
from civicloop_events.producer import EventProducer

from civicloop_geo.service_layer.ports import EventPublisher


class KafkaEventPublisher(EventPublisher):
    def __init__(self, producer: EventProducer, *, timeout_s: float = 10.0) -> None:
        self.producer = producer
        self.timeout_s = timeout_s

    async def publish(self, event: Event[Any]) -> None:
        # A broker that does not answer fails the handler (the consumer retries it) instead of stalling it.
        await asyncio.wait_for(self.producer.publish(event), timeout=self.timeout_s)

    async def publish_all(self, events: Sequence[Event[Any]]) -> None:
        """Send every event, then await every acknowledgement (one wait for the batch, not one per event).

        The sends are queued in the order given: tasks start in creation order and each appends its record to the
        producer's batch before its first wait (or, when that batch is full, waits for room in that same order), so
        the events of one request reach their partition in order.
        """
        if not events:
            return
        async with asyncio.timeout(self.timeout_s):
            await asyncio.gather(*(self.producer.publish(e) for e in events))
