"""The event-log port over `EventProducer`, each publish bounded by a timeout.

A publish that timed out may still reach the log later; its row stays pending and the retry (or the sweeper)
publishes the same event id, which consumers drop as a duplicate.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaError

from civicloop_events.envelope import Event
from civicloop_events.outbox import EventLog, EventLogUnavailable
from civicloop_events.positions import LogPosition
from civicloop_events.producer import EventProducer


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
