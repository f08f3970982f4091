"""The one place that wires geo's adapters: the pool, the producer, the geocoder, the consumers and the sweep.

`bootstrap(settings, ...)` takes its adapters as parameters: what a caller passes is used as it is (and stays the
caller's to close), what it leaves out is built from the settings (and closed by `Geo.close`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from civicloop_events import Event
from civicloop_events.consumer import ConsumerRunner
from civicloop_events.producer import EventProducer
from civicloop_runtime.config_first import config_caught_up
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers, consumer_runner
from civicloop_runtime.rebuild import consumers_lock_shared
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import Service, opening
from psycopg_pool import AsyncConnectionPool

from civicloop_geo import database
from civicloop_geo.adapters.area_store import AreaVersions, PostgresAreaResolver
from civicloop_geo.adapters.background import ClusterSweeper, sweep_once
from civicloop_geo.adapters.geocoders import make_geocoder
from civicloop_geo.adapters.kafka_publisher import KafkaEventPublisher
from civicloop_geo.adapters.placing_batch import PostgresPlacingBatch
from civicloop_geo.adapters.replay_store import replay_requests
from civicloop_geo.adapters.request_places import PostgresRequestPlaces
from civicloop_geo.domain.duplicates import DuplicatePolicy
from civicloop_geo.service_layer.area_maps import AreaMapPolicy, AreaMaps
from civicloop_geo.service_layer.batch_handler import BatchPlacingDeps, place_and_check_batch
from civicloop_geo.service_layer.cluster_sweep import ClusterPolicy
from civicloop_geo.service_layer.handlers import (
    PlacingPolicy,
    when_config_changes_keep_areas_and_services,
)
from civicloop_geo.service_layer.ports import Geocoder
from civicloop_geo.settings import SCHEMA, GeoSettings

# The advisory lock geo's consumers share and a rebuild takes alone.
CONSUMERS_LOCK = "geo.consumers"


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


def area_map_policy(settings: GeoSettings) -> AreaMapPolicy:
    return AreaMapPolicy(
        tolerance_m=settings.public_areas_tolerance_m,
        max_bytes=settings.public_areas_max_bytes,
        max_areas=settings.public_areas_max_areas,
    )


@dataclass(kw_only=True)
class Geo(Service):
    """A running geo: its adapters and, where it has a producer, its consumers and the cluster sweep."""

    schemas = database.SCHEMAS
    settings: GeoSettings
    pool: AsyncConnectionPool
    geocoder: Geocoder
    areas: PostgresAreaResolver  # the AreaResolver port, plus listings for the query API
    area_maps: AreaMaps  # the public map of the service areas, kept until an area changes
    producer: EventProducer | None = None
    sweeper: ClusterSweeper | None = None

    @property
    def publisher(self) -> KafkaEventPublisher:
        if self.producer is None:
            raise RuntimeError("publishing needs the producer: bootstrap(settings, producer=...)")
        return KafkaEventPublisher(self.producer)

    def requests_runner(self) -> ConsumerRunner:
        return self.runner(self.settings.requests_consumer_name)

    def config_runner(self) -> ConsumerRunner:
        return self.runner(self.settings.config_consumer_name)

    def replay_runner(self) -> ConsumerRunner:
        """The requests consumer as a rebuild runs it: geo's view folded from the log, nothing published."""
        if self.producer is None:
            raise RuntimeError("the runner needs the dead-letter producer: bootstrap(settings, producer=...)")
        return consumer_runner(
            self.settings,
            name=self.settings.requests_consumer_name,
            topic=self.settings.topics.request_events,
            batch_handler=replay_requests,
            pool=self.pool,
            producer=self.producer,
            schema=SCHEMA,
        )

    async def sweep_once(self, *, now: datetime | None = None) -> list[Event[Any]] | None:
        """One cluster sweep now; None when another replica is sweeping."""
        return await sweep_once(self.pool, self.publisher, cluster_policy(self.settings), now=now)


async def bootstrap(
    settings: GeoSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    geocoder: Geocoder | None = None,
    areas: PostgresAreaResolver | None = None,
    start_consumers: bool = True,
) -> Geo:
    """With `start_consumers`, requests are being placed and checked for duplicates, and clusters swept; without,
    the query API only (a producer passed in still makes the runners and `sweep_once`)."""
    async with opening() as opened:
        pool = pool or await owned_pool(settings, opened, name="civicloop-geo")
        areas = areas or PostgresAreaResolver(pool)
        if producer is None and start_consumers:
            producer = await owned_producer(
                settings, opened, topic=settings.topics.request_events, client_id="civicloop-geo"
            )
        if geocoder is None:
            geocoder = make_geocoder(settings, pool)
            aclose = getattr(geocoder, "aclose", None)
            if aclose is not None:  # a remote geocoder's HTTP client
                opened.push_async_callback(aclose)
        geo = Geo(
            settings=settings,
            pool=pool,
            geocoder=geocoder,
            areas=areas,
            area_maps=AreaMaps(areas, area_map_policy(settings)),
            producer=producer,
            opened=opened,
        )
        if producer is not None:
            geo.own_consumers(_consumers(geo, producer), start=start_consumers)
        if start_consumers and geo.consumers is not None:
            geo.sweeper = ClusterSweeper(
                pool, geo.publisher, cluster_policy(settings), interval_s=settings.cluster_sweep_interval_s
            )
            opened.push_async_callback(geo.sweeper.stop)
            geo.sweeper.start()
    return geo


def _consumers(geo: Geo, producer: EventProducer) -> ServiceConsumers:
    settings, publisher, policy = geo.settings, geo.publisher, placing_policy(geo.settings)

    async def place_and_check_many(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        deps = BatchPlacingDeps(
            geocoder=geo.geocoder,
            areas=geo.areas,
            store=PostgresPlacingBatch(conn),
            publisher=publisher,
            policy=policy,
            geocoder_concurrency=settings.geocoder_concurrency,
        )
        await place_and_check_batch(deps, events)

    async def keep_areas_and_services(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_config_changes_keep_areas_and_services(
            AreaVersions(conn), PostgresRequestPlaces(conn), event
        )

    @contextlib.asynccontextmanager
    async def config_folded() -> AsyncIterator[None]:
        async with (
            consumers_lock_shared(settings.pg_dsn, CONSUMERS_LOCK),
            config_caught_up(
                geo.pool,
                schema=SCHEMA,
                bootstrap_servers=settings.kafka_bootstrap,
                topic=settings.topics.jurisdiction_config,
                consumer=settings.config_consumer_name,
            ),
        ):
            yield

    def not_rebuilding() -> contextlib.AbstractAsyncContextManager[None]:
        return consumers_lock_shared(settings.pg_dsn, CONSUMERS_LOCK)

    return ServiceConsumers(
        settings,
        pool=geo.pool,
        schema=SCHEMA,
        dead_letters=producer,
        specs=[
            # Requests wait for the configuration as it stood at start (service areas before placing); both wait
            # for a rebuild to end.
            ConsumerSpec(
                name=settings.requests_consumer_name,
                topic=settings.topics.request_events,
                batch_handler=place_and_check_many,
                guard=config_folded,
            ),
            ConsumerSpec(
                settings.config_consumer_name,
                settings.topics.jurisdiction_config,
                keep_areas_and_services,
                not_rebuilding,
            ),
        ],
    )
