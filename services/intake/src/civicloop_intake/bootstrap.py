"""The one place that builds intake's adapters and hands them to the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from civicloop_events.outbox import Sweeper
from civicloop_events.vault import ResidentKeyVault
from civicloop_runtime.db import open_pool
from civicloop_runtime.ops import Check, service_checks
from psycopg_pool import AsyncConnectionPool

from civicloop_intake import database
from civicloop_intake.adapters.kafka_event_log import KafkaEventLog
from civicloop_intake.adapters.postgres_catalogue import PostgresCatalogue, apply_to_catalogue
from civicloop_intake.adapters.postgres_corrections import PostgresCorrections
from civicloop_intake.adapters.postgres_merges import PostgresMerges
from civicloop_intake.adapters.postgres_submissions import PostgresSubmissions
from civicloop_intake.adapters.postgres_tracking import (
    TRACKING_CONSUMER,
    PostgresTrackingView,
    apply_to_tracking,
)
from civicloop_intake.adapters.projections import CATALOGUE_CONSUMER, SupervisedProjection
from civicloop_intake.adapters.vault import PostgresVault
from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.corrections import CorrectLocation
from civicloop_intake.domain.merging import MergeDuplicate
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.service_layer.correct import CorrectionReceipt, correct_location
from civicloop_intake.service_layer.merge import MergeReceipt, merge_duplicate
from civicloop_intake.service_layer.submit import SubmissionReceipt, submit_service_request
from civicloop_intake.service_layer.track import TrackedRequestView, track_request
from civicloop_intake.settings import IntakeSettings


@dataclass
class Intake:
    """A running intake: its resources and the handlers bound to them."""

    settings: IntakeSettings
    pool: AsyncConnectionPool
    event_log: KafkaEventLog
    vault: PostgresVault
    catalogue: PostgresCatalogue
    submissions: PostgresSubmissions
    tracking: PostgresTrackingView
    merges: PostgresMerges
    corrections: PostgresCorrections
    projections: list[SupervisedProjection] = field(default_factory=list)
    sweeper: Sweeper | None = None

    async def submit(self, cmd: SubmitServiceRequest, *, idempotency_key: str) -> SubmissionReceipt:
        return await submit_service_request(
            cmd,
            idempotency_key=idempotency_key,
            catalogue=self.catalogue,
            submissions=self.submissions,
            vault=self.vault,
            event_log=self.event_log,
            default_jurisdiction=self.settings.default_jurisdiction,
            default_region=self.settings.default_phone_region,
            hash_key=self.settings.pepper,
            on_the_log=self.tracking,
        )

    async def merge(self, cmd: MergeDuplicate, *, number: str, agent_id: str) -> MergeReceipt:
        return await merge_duplicate(
            cmd,
            number=number,
            agent_id=agent_id,
            tracking=self.tracking,
            merges=self.merges,
            event_log=self.event_log,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    async def correct_location(
        self, cmd: CorrectLocation, *, number: str, agent_id: str, idempotency_key: str
    ) -> CorrectionReceipt:
        return await correct_location(
            cmd,
            number=number,
            agent_id=agent_id,
            idempotency_key=idempotency_key,
            tracking=self.tracking,
            merges=self.merges,
            corrections=self.corrections,
            event_log=self.event_log,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    async def track(self, *, number: str, phone: str, after: LogPosition | None) -> TrackedRequestView:
        return await track_request(
            number=number,
            phone=phone,
            after=after,
            tracking=self.tracking,
            catalogue=self.catalogue,
            vault=self.vault,
            default_region=self.settings.default_phone_region,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    def readiness_checks(self) -> dict[str, Check]:
        return service_checks(
            self.pool,
            migrations_current=lambda: database.is_current(self.settings.sqlalchemy_url),
            kafka_connected=lambda: self.event_log.connected,
        )

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.stop()
        for projection in self.projections:
            await projection.stop()
        await self.event_log.stop()
        await self.pool.close()


async def start_intake(settings: IntakeSettings) -> Intake:
    topics = settings.topics
    prefix = settings.topic_prefix  # isolates consumer groups the way it isolates topics
    pool = await open_pool(
        settings.pg_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name="civicloop-intake",
    )
    event_log = KafkaEventLog(
        bootstrap_servers=settings.kafka_bootstrap,
        topic=topics.request_events,
        publish_timeout_s=settings.publish_timeout_s,
        connect_timeout_s=settings.kafka_connect_timeout_s,
    )
    tracking_consumer = prefix + TRACKING_CONSUMER
    intake = Intake(
        settings=settings,
        pool=pool,
        event_log=event_log,
        vault=PostgresVault(ResidentKeyVault(pool, pepper=settings.pepper)),
        catalogue=PostgresCatalogue(pool),
        submissions=PostgresSubmissions(pool),
        tracking=PostgresTrackingView(pool, topic=topics.request_events, consumer=tracking_consumer),
        merges=PostgresMerges(pool),
        corrections=PostgresCorrections(pool),
    )
    intake.projections = [
        SupervisedProjection(
            name=prefix + CATALOGUE_CONSUMER,
            topic=topics.jurisdiction_config,
            dead_letter_topic=topics.dead_letters,
            handler=apply_to_catalogue,
            bootstrap_servers=settings.kafka_bootstrap,
            pool=pool,
            event_log=event_log,
        ),
        SupervisedProjection(
            name=tracking_consumer,
            topic=topics.request_events,
            dead_letter_topic=topics.dead_letters,
            handler=apply_to_tracking,
            bootstrap_servers=settings.kafka_bootstrap,
            pool=pool,
            event_log=event_log,
        ),
    ]
    intake.sweeper = Sweeper(
        [intake.submissions, intake.corrections, intake.merges],
        event_log,
        older_than=timedelta(seconds=settings.sweep_pending_after_s),
    )
    try:
        await event_log.start()
        for projection in intake.projections:
            projection.start()
        intake.sweeper.start(timedelta(seconds=settings.sweep_every_s))
    except BaseException:
        await intake.close()
        raise
    return intake
