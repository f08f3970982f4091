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
        """Send every event, then await every acknowledgement (one wait for the batch, not one per event), in the
        order given, so the events of one request reach their partition in order."""
        async with asyncio.timeout(self.timeout_s):
            await self.producer.publish_many(events)
