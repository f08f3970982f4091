"""`civicloop-gateway sweep-pending`: one sweep of the gateway's outboxes, outside the service process."""

from __future__ import annotations

from civicloop_events.producer import EventProducer
from civicloop_runtime.db import open_pool

from civicloop_gateway.bootstrap import pending_sweeper
from civicloop_gateway.settings import GatewaySettings


async def sweep_once(settings: GatewaySettings, *, older_than_s: float) -> int:
    """Publish the submissions and updates pending at least `older_than_s`; how many were published."""
    pool = await open_pool(settings.pg_dsn, min_size=1, max_size=2, name="civicloop-gateway-sweep")
    producer = EventProducer(
        settings.kafka_bootstrap, settings.topics.request_events, client_id="civicloop-gateway-sweep"
    )
    try:
        await producer.start()
        return await pending_sweeper(pool, producer, settings, older_than_s=older_than_s).sweep_once()
    finally:
        await producer.stop()
        await pool.close()
