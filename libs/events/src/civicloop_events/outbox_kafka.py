"""The event-log port over `EventProducer`, each publish bounded by a timeout.

A publish that timed out may still reach the log later; its row stays pending. The retry (or the sweeper) first
looks for its events on the log (`find`), and the producer awaits its own earlier send of an event instead of
sending it again, so the event stands on the log once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiokafka.errors import KafkaError

from civicloop_events.envelope import Event
from civicloop_events.log_search import find_on_log
from civicloop_events.outbox import EventLog, EventLogUnavailable
from civicloop_events.positions import LogPosition
from civicloop_events.producer import EventProducer, Position


class ProducerEventLog(EventLog):
    def __init__(self, producer: EventProducer, *, publish_timeout_s: float) -> None:
        self.producer = producer
        self.publish_timeout_s = publish_timeout_s

    async def publish(self, event: Event[Any]) -> LogPosition:
        try:
            position = await asyncio.wait_for(self.producer.publish(event), timeout=self.publish_timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise EventLogUnavailable(
                f"the event log did not acknowledge within {self.publish_timeout_s}s: {exc!r}"
            ) from exc
        return LogPosition(position.partition, position.offset)

    async def find(self, events: Sequence[Event[Any]], *, since: datetime) -> list[LogPosition | None]:
        producer = self.producer

        async def search() -> list[Position | None]:
            partitions = await producer.partitions()
            async with producer.search_slots:
                return await find_on_log(
                    producer.bootstrap_servers,
                    producer.topic,
                    partitions,
                    events,
                    since=since,
                    timeout_s=self.publish_timeout_s,
                )

        try:
            # Bounded as a publish is, twice over: connecting, then reading to the end.
            found = await asyncio.wait_for(search(), timeout=self.publish_timeout_s * 2)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise EventLogUnavailable(f"the event log could not be searched: {exc!r}") from exc
        return [None if p is None else LogPosition(p.partition, p.offset) for p in found]
