"""Actions' events onto their topics (`EventPublisher`): each type's own (`Topics.of`), acknowledged by the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from civicloop_events import Event
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics

from civicloop_selfheal.service_layer.ports import EventPublisher


class KafkaEventPublisher(EventPublisher):
    def __init__(self, producer: EventProducer, topics: Topics, *, timeout_s: float) -> None:
        self.producer = producer
        self.topics = topics
        self.timeout_s = timeout_s

    async def publish_many(self, events: Sequence[Event[Any]]) -> None:
        by_topic: dict[str, list[Event[Any]]] = {}
        for event in events:
            by_topic.setdefault(self.topics.of(event.payload), []).append(event)
        for topic, batch in by_topic.items():
            await asyncio.wait_for(self.producer.publish_many(batch, topic=topic), self.timeout_s)
