"""The one place that wires adapters: the pool, the producer, the geocoder and the consumer runners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner, Handler
from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import consumer_runner
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.adapters.area_store import AreaVersions, PostgresAreaResolver
from civicloop_geo.adapters.geocoders import make_geocoder
from civicloop_geo.adapters.kafka_publisher import KafkaEventPublisher
from civicloop_geo.adapters.request_places import PostgresRequestPlaces
from civicloop_geo.domain.duplicates import DuplicatePolicy
from civicloop_geo.service_layer.cluster_sweep import ClusterPolicy
from civicloop_geo.service_layer.handlers import (
    PlacingDeps,
    PlacingPolicy,
    when_config_changes_keep_areas_and_services,
    when_request_event_place_and_check,
)
from civicloop_geo.service_layer.ports import Geocoder
from civicloop_geo.settings import SCHEMA, GeoSettings


def placing_policy(settings: GeoSettings) -> PlacingPolicy:
    return PlacingPolicy(
        min_confidence=settings.geocoder_min_confidence,
        public_h3_resolution=settings.public_h3_resolution,
        related_by_group=settings.duplicate_related_by_group,
        duplicates=DuplicatePolicy(
            radius_m=settings.duplicate_radius_m,
            window_days=settings.duplicate_window_days,
            max_candidates=settings.duplicate_max_candidates,
        ),
    )


def cluster_policy(settings: GeoSettings) -> ClusterPolicy:
    return ClusterPolicy(
        eps_m=settings.cluster_eps_m,
        min_points=settings.cluster_min_points,
        window=timedelta(hours=settings.cluster_window_hours),
        public_h3_resolution=settings.public_h3_resolution,
    )


@dataclass
class Geo:
    """The process's open resources; runners are made fresh each time (a stopped Kafka consumer cannot restart)."""

    settings: GeoSettings
    pool: AsyncConnectionPool
    geocoder: Geocoder
    areas: PostgresAreaResolver  # the AreaResolver port, plus listings for the query API
    producer: EventProducer | None = None

    @property
    def publisher(self) -> KafkaEventPublisher:
        if self.producer is None:
            raise RuntimeError("publishing needs the producer: bootstrap(..., with_producer=True)")
        return KafkaEventPublisher(self.producer)

    def requests_runner(self) -> ConsumerRunner:
        publisher, policy = self.publisher, placing_policy(self.settings)

        async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
            deps = PlacingDeps(
                geocoder=self.geocoder,
                areas=self.areas,
                places=PostgresRequestPlaces(conn),
                publisher=publisher,
                policy=policy,
            )
            await when_request_event_place_and_check(deps, event)

        return self._runner(self.settings.requests_consumer_name, self.settings.topics.request_events, handle)

    def config_runner(self) -> ConsumerRunner:
        async def handle(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
            await when_config_changes_keep_areas_and_services(
                AreaVersions(conn), PostgresRequestPlaces(conn), event
            )

        return self._runner(
            self.settings.config_consumer_name, self.settings.topics.jurisdiction_config, handle
        )

    def _runner(self, name: str, topic: str, handler: Handler) -> ConsumerRunner:
        if self.producer is None:
            raise RuntimeError("consumers need the producer: bootstrap(..., with_producer=True)")
        return consumer_runner(
            self.settings,
            name=name,
            topic=topic,
            handler=handler,
            pool=self.pool,
            producer=self.producer,
            schema=SCHEMA,
        )

    async def close(self) -> None:
        aclose = getattr(self.geocoder, "aclose", None)
        if aclose is not None:  # a remote geocoder's HTTP client
            await aclose()
        if self.producer is not None:
            await self.producer.stop()
        await self.pool.close()


async def bootstrap(settings: GeoSettings, *, with_producer: bool) -> Geo:
    pool = await open_pool(
        settings.pg_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name="civicloop-geo",
    )
    producer = None
    try:
        if with_producer:
            producer = EventProducer(
                settings.kafka_bootstrap, settings.topics.request_events, client_id="civicloop-geo"
            )
            await producer.start()
        return Geo(
            settings=settings,
            pool=pool,
            geocoder=make_geocoder(settings, pool),
            areas=PostgresAreaResolver(pool),
            producer=producer,
        )
    except BaseException:
        if producer is not None:
            await producer.stop()
        await pool.close()
        raise
