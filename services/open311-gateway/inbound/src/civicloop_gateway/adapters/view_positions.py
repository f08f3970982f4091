"""Read-your-writes on a view that one of the gateway's consumers folds from one topic."""

from __future__ import annotations

from civicloop_events.consumer import wait_until_applied
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.domain.submit_record import LogPosition


class FoldedView:
    """A view `consumer` folds from `topic`, whose positions are stored in `schema` with its writes."""

    def __init__(
        self, pool: AsyncConnectionPool, *, schema: str, consumer: str, topic: str, timeout_s: float
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.consumer = consumer
        self.topic = topic
        self.timeout_s = timeout_s

    async def wait_until_applied(self, position: LogPosition) -> bool:
        """Wait (at most `timeout_s`) until the consumer has applied the event at `position`."""
        return await wait_until_applied(
            self.pool,
            schema=self.schema,
            consumer=self.consumer,
            topic=self.topic,
            partition=position.partition,
            offset=position.offset,
            timeout_s=self.timeout_s,
        )
