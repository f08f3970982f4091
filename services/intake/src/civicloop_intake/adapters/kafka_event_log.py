"""The event log port over `EventProducer`, kept connected in the background.

The service starts, and answers 503 rather than hanging, while the broker is unreachable: `publish` fails at once
when no producer is connected and is bounded by `publish_timeout_s` otherwise, and a background task keeps trying to
connect. Once a publish has failed, the breaker (`civicloop_events.breaker`) refuses at once for `breaker_open_s`,
then lets one publish through to try: during an outage nothing waits out the timeout. A publish that timed out may
still reach the log later; the submission stays pending, and its retry (or the sweeper) looks for the event on the
log before publishing it again (`civicloop_events.outbox`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiokafka.errors import KafkaError
from civicloop_events import Event
from civicloop_events.breaker import LogBreaker
from civicloop_events.outbox_kafka import ProducerEventLog
from civicloop_events.producer import EventProducer
from civicloop_events.tasks import cancel_and_wait

from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.service_layer.ports import EventLog, EventLogUnavailable

log = logging.getLogger("civicloop.intake.kafka")


class KafkaEventLog(EventLog):
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        client_id: str = "civicloop-intake",
        publish_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        reconnect_every_s: float = 2.0,
        breaker_open_s: float = 2.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.client_id = client_id
        self.publish_timeout_s = publish_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_every_s = reconnect_every_s
        self.breaker = LogBreaker(open_s=breaker_open_s, name=topic)
        self._producer: EventProducer | None = None
        self._ready = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect now if the broker answers; otherwise keep trying in the background."""
        if not await self._try_connect():
            self._connecting = asyncio.create_task(self._connect_until_done(), name="intake-kafka-connect")

    async def connect(self) -> bool:
        """Connect once, without a background retry (for one-shot commands)."""
        return await self._try_connect()

    async def stop(self) -> None:
        await cancel_and_wait(self._connecting)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        self._ready.clear()

    @property
    def connected(self) -> bool:
        return self._producer is not None and self._producer.connected

    async def reachable(self) -> bool:
        """A broker answers now (for /readyz); False while the background task is still connecting."""
        return self._producer is not None and await self._producer.reachable()

    async def producer(self) -> EventProducer:
        """The connected producer, once there is one (the consumers need it for their dead letters)."""
        await self._ready.wait()
        if self._producer is None:
            raise EventLogUnavailable(f"not connected to Kafka at {self.bootstrap_servers}")
        return self._producer

    def refuse_if_unavailable(self) -> None:
        self.breaker.refuse_if_open()

    async def publish(self, event: Event[Any]) -> LogPosition:
        return await self.breaker.call(lambda: self._publish(event))

    async def _publish(self, event: Event[Any]) -> LogPosition:
        if self._producer is None:
            raise EventLogUnavailable(f"not connected to Kafka at {self.bootstrap_servers}")
        return await ProducerEventLog(self._producer, publish_timeout_s=self.publish_timeout_s).publish(event)

    async def find(self, events: Sequence[Event[Any]], *, since: datetime) -> list[LogPosition | None]:
        if self._producer is None:
            raise EventLogUnavailable(f"not connected to Kafka at {self.bootstrap_servers}")
        return await ProducerEventLog(self._producer, publish_timeout_s=self.publish_timeout_s).find(
            events, since=since
        )

    async def _try_connect(self) -> bool:
        producer = EventProducer(self.bootstrap_servers, self.topic, client_id=self.client_id)
        try:
            await asyncio.wait_for(producer.start(), timeout=self.connect_timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning(
                "Kafka unreachable, will retry",
                extra={"bootstrap": self.bootstrap_servers, "error": repr(exc)},
            )
            return False
        self._producer = producer
        self._ready.set()
        return True

    async def _connect_until_done(self) -> None:
        while True:  # a retry with a pause between attempts; there is nothing to wait on
            if await self._try_connect():
                return
            await asyncio.sleep(self.reconnect_every_s)
