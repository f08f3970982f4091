"""The event-log and vault ports over the app's producer and resident-key vault.

A publish is bounded by `publish_timeout_s`. One that timed out may still reach the log later; the submission stays
pending and the partner's retry publishes the same event id, which consumers drop as a duplicate.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaError
from civicloop_events import Event, PersonalData, SealedPersonalData
from civicloop_events.producer import EventProducer
from civicloop_runtime.vault import ResidentKeyVault

from civicloop_gateway.domain.submit_record import LogPosition
from civicloop_gateway.service_layer.submit_ports import EventLog, EventLogUnavailable, Vault


class ProducerEventLog(EventLog):
    def __init__(self, producer: EventProducer, *, publish_timeout_s: float) -> None:
        self.producer = producer
        self.publish_timeout_s = publish_timeout_s

    async def publish(self, event: Event[Any]) -> LogPosition:
        try:
            position = await asyncio.wait_for(self.producer.publish(event), timeout=self.publish_timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise EventLogUnavailable(
                f"the event log did not acknowledge within {self.publish_timeout_s}s"
            ) from exc
        return LogPosition(position.partition, position.offset)


class ResidentVault(Vault):
    def __init__(self, vault: ResidentKeyVault) -> None:
        self.vault = vault

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        return await self.vault.seal(data)
