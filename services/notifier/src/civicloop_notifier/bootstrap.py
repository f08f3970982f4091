"""The one place that wires the notifier: the pool, the producer, the vault, the catalogs of texts, the channel
senders chosen by configuration, the consumer that folds requests and queues messages, and the sender loop.

`bootstrap(settings, ...)` takes every adapter as an optional parameter (tests pass their own senders, a pool, a
clock) and returns the running `Notifier`; `close()` stops what it started and closes what it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import psycopg
from civicloop_channels.calendar import Organizer
from civicloop_channels.message import ChannelSender
from civicloop_channels.sms_keywords import Program
from civicloop_channels.sms_webhooks import TwilioSignatureCheck
from civicloop_events import Event
from civicloop_events.payloads import NotificationChannel
from civicloop_events.producer import EventProducer
from civicloop_runtime.consumers import ConsumerSpec, ServiceConsumers
from civicloop_runtime.resources import owned_pool, owned_producer
from civicloop_runtime.service import KafkaClient, Service, opening
from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_notifier import database
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.adapters.feed_setup import feed_policy, feed_rule, govdelivery_sender
from civicloop_notifier.adapters.inbound_store import OpenRequest, PostgresInboundStore, inbound_transaction
from civicloop_notifier.adapters.photo_fetch import HttpPhotoFetcher
from civicloop_notifier.adapters.postgres_attachments import PostgresNoticeFactsStore
from civicloop_notifier.adapters.postgres_feed import PostgresFeedStore
from civicloop_notifier.adapters.postgres_staff import PostgresStaffStore
from civicloop_notifier.adapters.postgres_store import PostgresNotifierStore, store_transaction
from civicloop_notifier.adapters.providers import ChannelSenders, senders_from_environment
from civicloop_notifier.adapters.reply_smtp import ReplyHandler, start_reply_listener
from civicloop_notifier.adapters.text_report_http import GeoPlaces, IntakeSubmitter
from civicloop_notifier.adapters.text_report_store import PostgresTextReportStore, text_report_transaction
from civicloop_notifier.adapters.twilio_webhook_setup import twilio_signature_from_environment
from civicloop_notifier.domain.texts import Texts
from civicloop_notifier.domain.visit_calendar import CalendarPolicy
from civicloop_notifier.service_layer.conversation_ports import TextReportingPort
from civicloop_notifier.service_layer.delivery_receipts import DeliveryReceipts
from civicloop_notifier.service_layer.email_extras import EmailExtras
from civicloop_notifier.service_layer.feed import FeedDeps, FeedLoop, when_request_event_queue_bulletins
from civicloop_notifier.service_layer.folds import when_request_event_queue_messages
from civicloop_notifier.service_layer.inbound_folds import when_status_changed_track_open
from civicloop_notifier.service_layer.inbound_texts import InboundTexts, IncomingMessage
from civicloop_notifier.service_layer.preferences import ContactPreferences
from civicloop_notifier.service_layer.sender_loop import SenderLoop
from civicloop_notifier.service_layer.sending import SendingDeps
from civicloop_notifier.service_layer.staff_directory import (
    when_selfheal_event_queue_staff_notice,
    when_staff_event_update_directory,
)
from civicloop_notifier.service_layer.staff_sending import StaffDeps, StaffSenderLoop
from civicloop_notifier.service_layer.surveys import SurveyAnswers
from civicloop_notifier.service_layer.text_reporting import (
    TextReporting,
    when_service_defined_keep_reportable_service,
)
from civicloop_notifier.settings import SCHEMA, NotifierSettings

SERVICE = "civicloop-notifier"


def _now() -> datetime:
    return datetime.now(UTC)


def email_extras(settings: NotifierSettings, photos: HttpPhotoFetcher | None) -> EmailExtras:
    """A visit's `.ics` and a closing's photos, as the settings say."""
    return EmailExtras(
        calendar=CalendarPolicy(
            uid_domain=settings.notifier_calendar_domain,
            organizer=Organizer(
                settings.notifier_calendar_organizer_email, settings.notifier_calendar_organizer_name
            ),
            alarm_before=timedelta(hours=settings.notifier_visit_alarm_hours),
        ),
        media_prefixes=tuple(settings.notifier_media_url_prefixes),
        photo_max_bytes=settings.notifier_photo_max_bytes,
        photos=photos,
    )


def default_senders(settings: NotifierSettings, environ: Mapping[str, str] | None = None) -> ChannelSenders:
    """The channel senders the settings name, built from the process's environment (`adapters/providers.py`)."""
    return senders_from_environment(settings.notifier_providers, os.environ if environ is None else environ)


@dataclass(kw_only=True)
class Notifier(Service):
    schemas = database.SCHEMAS
    settings: NotifierSettings
    pool: AsyncConnectionPool
    producer: EventProducer
    vault: ResidentKeyVault
    texts: Texts
    senders: Mapping[NotificationChannel, ChannelSender]
    sender_loop: SenderLoop
    staff_loop: StaffSenderLoop
    preferences: ContactPreferences
    surveys: SurveyAnswers
    clock: Callable[[], datetime] = _now
    receipts: DeliveryReceipts | None = None
    inbound: InboundTexts | None = None
    twilio_signature: TwilioSignatureCheck | None = None  # None: Twilio's webhooks are refused
    feed: FeedLoop | None = None  # the govDelivery feed, when configured
    text_reporting: TextReportingPort | None = None
    _sending: asyncio.Task[None] | None = None
    _feeding: asyncio.Task[None] | None = None
    _staff_sending: asyncio.Task[None] | None = None

    def kafka_clients(self) -> Sequence[KafkaClient]:
        return (self.producer,)

    def store(self) -> contextlib.AbstractAsyncContextManager[PostgresNotifierStore]:
        """The notifier's tables on one transaction."""
        return store_transaction(self.pool)

    async def fold(self, conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_request_event_queue_messages(
            PostgresNotifierStore(conn),
            event,
            now=self.clock(),
            max_age=timedelta(seconds=self.settings.notifier_max_age_s),
            facts=PostgresNoticeFactsStore(conn),
        )
        await when_status_changed_track_open(PostgresInboundStore(conn), event)
        await when_selfheal_event_queue_staff_notice(
            PostgresStaffStore(conn),
            event,
            now=self.clock(),
            max_age=timedelta(seconds=self.settings.notifier_max_age_s),
        )
        if self.feed is not None:
            await when_request_event_queue_bulletins(
                PostgresFeedStore(conn),
                event,
                rule=feed_rule(self.settings),
                now=self.clock(),
                max_age=timedelta(seconds=self.settings.notifier_max_age_s),
            )

    def committed(self) -> None:
        """Folded events were committed: the senders look for what they queued now."""
        self.sender_loop.wake()
        self.staff_loop.wake()
        if self.feed is not None:
            self.feed.wake()

    def start_sending(self) -> None:
        self._sending = asyncio.create_task(self.sender_loop.run())

        async def stop() -> None:
            # Asked, not cancelled: a worker ends after recording its current send (bounded by the send timeout),
            # and a cancellation that psycopg turns into a query error cannot be lost on the way.
            self.sender_loop.stop()
            if self._sending is not None:
                await self._sending

        self.opened.push_async_callback(stop)
        staff_loop = self.staff_loop
        self._staff_sending = asyncio.create_task(staff_loop.run())

        async def stop_staff() -> None:
            staff_loop.stop()
            if self._staff_sending is not None:
                await self._staff_sending

        self.opened.push_async_callback(stop_staff)
        if self.feed is not None:
            feed = self.feed
            self._feeding = asyncio.create_task(feed.run())

            async def stop_feed() -> None:
                feed.stop()
                if self._feeding is not None:
                    await self._feeding

            self.opened.push_async_callback(stop_feed)

    @property
    def sending(self) -> bool:
        return self._sending is not None and not self._sending.done()


async def fold_staff_directory(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    """Who the staff are (roles, teams, active, sealed contact), folded from the config topic."""
    await when_staff_event_update_directory(PostgresStaffStore(conn), event)


async def fold_catalogue(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
    """The services text reports offer, folded from the config topic."""
    await when_service_defined_keep_reportable_service(PostgresTextReportStore(conn), event)


def _http_client(
    base_url: str, settings: NotifierSettings, opened: contextlib.AsyncExitStack
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=settings.notifier_text_report_http_timeout_s)
    opened.push_async_callback(client.aclose)
    return client


def text_reporting_from_settings(
    settings: NotifierSettings,
    pool: AsyncConnectionPool,
    texts: Texts,
    clock: Callable[[], datetime],
    opened: contextlib.AsyncExitStack,
) -> TextReporting:
    """Reports by text message, through geo's public geocode and intake's submission route as the settings name."""
    return TextReporting(
        transaction=partial(text_report_transaction, pool),
        places=GeoPlaces(_http_client(settings.notifier_geo_url, settings, opened)),
        submitter=IntakeSubmitter(_http_client(settings.notifier_intake_url, settings, opened)),
        catalogs=texts.catalogs,
        pepper=settings.pepper,
        jurisdiction_id=settings.notifier_text_report_jurisdiction,
        timeout=timedelta(seconds=settings.notifier_text_report_timeout_s),
        clock=clock,
    )


async def bootstrap(
    settings: NotifierSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    producer: EventProducer | None = None,
    vault: ResidentKeyVault | None = None,
    senders: Mapping[NotificationChannel, ChannelSender] | None = None,
    clock: Callable[[], datetime] = _now,
    feed_sender: ChannelSender | None = None,
    start_consumers: bool = True,
    start_sending: bool = True,
    twilio_signature: TwilioSignatureCheck | None = None,
    text_reporting: TextReporting | None = None,
) -> Notifier:
    async with opening() as opened:
        if pool is None:
            pool = await owned_pool(settings, opened, name=SERVICE)
        if producer is None:
            producer = await owned_producer(
                settings, opened, topic=settings.topics.request_events, client_id=SERVICE
            )
        vault = vault or ResidentKeyVault(pool, pepper=settings.pepper)
        texts = Texts(load_catalogs())
        if senders is not None:
            chosen = dict(senders)
        else:
            built = default_senders(settings)
            opened.push_async_callback(built.aclose)  # after the sender loop has stopped (a stack)
            chosen = built.senders
        publish_timeout = settings.publish_timeout_s
        photos = None
        if settings.notifier_media_url_prefixes:
            photos = HttpPhotoFetcher()
            opened.push_async_callback(photos.aclose)

        async def publish(event: Event[Any]) -> Any:
            async with asyncio.timeout(publish_timeout):
                return await producer.publish(event)

        deps = SendingDeps(
            senders=chosen,
            texts=texts,
            policy=settings,
            pepper=settings.pepper,
            unseal=vault.unseal,
            publish=publish,
            clock=clock,
            rand=random.random,
            email_extras=email_extras(settings, photos),
        )
        loop = SenderLoop(
            pool=pool,
            store_for=PostgresNotifierStore,
            deps=deps,
            concurrency=settings.notifier_concurrency,
            poll_interval_s=settings.notifier_poll_interval_s,
        )
        staff_loop = StaffSenderLoop(
            pool=pool,
            store_for=PostgresStaffStore,
            deps=StaffDeps(
                email=chosen.get(NotificationChannel.email),
                texts=texts,
                policy=settings,
                unseal=vault.unseal,
                clock=clock,
                rand=random.random,
            ),
            poll_interval_s=settings.notifier_poll_interval_s,
        )
        feed = None
        if settings.govdelivery_configured():
            if feed_sender is None:
                built_feed = govdelivery_sender(settings)
                opened.push_async_callback(built_feed.aclose)
                feed_sender = built_feed
            feed = FeedLoop(
                pool=pool,
                store_for=PostgresFeedStore,
                deps=FeedDeps(
                    sender=feed_sender,
                    texts=texts,
                    policy=feed_policy(settings),
                    clock=clock,
                    rand=random.random,
                ),
                poll_interval_s=settings.notifier_poll_interval_s,
            )
        if text_reporting is None and settings.text_reporting_configured():
            text_reporting = text_reporting_from_settings(settings, pool, texts, clock, opened)
        notifier = Notifier(
            settings=settings,
            pool=pool,
            producer=producer,
            vault=vault,
            texts=texts,
            senders=chosen,
            sender_loop=loop,
            staff_loop=staff_loop,
            preferences=ContactPreferences(partial(store_transaction, pool), settings.pepper),
            surveys=SurveyAnswers(
                transaction=partial(store_transaction, pool),
                find_resident=vault.find_resident,
                publish=publish,
            ),
            clock=clock,
            feed=feed,
            opened=opened,
            twilio_signature=twilio_signature or twilio_signature_from_environment(os.environ),
            text_reporting=text_reporting,
        )
        receipts = _wire_inbound(notifier, publish)
        await _listen_for_replies(notifier)
        notifier.own_consumers(
            ServiceConsumers(
                settings,
                pool=pool,
                schema=SCHEMA,
                dead_letters=producer,
                specs=[
                    ConsumerSpec(
                        settings.requests_consumer_name,
                        settings.topics.request_events,
                        notifier.fold,
                        on_committed=notifier.committed,
                    ),
                    ConsumerSpec(
                        settings.staff_directory_consumer_name,
                        settings.topics.jurisdiction_config,
                        fold_staff_directory,
                    ),
                    *(
                        [
                            ConsumerSpec(
                                settings.text_report_catalogue_consumer_name,
                                settings.topics.jurisdiction_config,
                                fold_catalogue,
                            )
                        ]
                        if text_reporting is not None
                        else []
                    ),
                ],
            ),
            start=start_consumers,
        )
        if start_sending:
            notifier.start_sending()
            _start_receipts(notifier, receipts)
    return notifier


def _wire_inbound(notifier: Notifier, publish: Callable[[Event[Any]], Any]) -> DeliveryReceipts:
    """Delivery receipts and residents' messages (texts, email replies) on the notifier's tables."""
    settings = notifier.settings
    transaction = partial(inbound_transaction, notifier.pool)
    notifier.receipts = DeliveryReceipts(
        transaction=transaction,
        wake_sender=notifier.sender_loop.wake,
        clock=notifier.clock,
        every_s=max(settings.notifier_poll_interval_s, 0.05),
    )
    notifier.inbound = InboundTexts(
        transaction=transaction,
        find_resident=notifier.vault.find_resident,
        key_for=notifier.vault.key_for,
        preferences=notifier.preferences,
        surveys=notifier.surveys,
        publish=publish,
        program=Program(settings.notifier_program_name, settings.notifier_help_contact),
        clock=notifier.clock,
        conversation_ttl=timedelta(seconds=settings.notifier_conversation_ttl_s),
        catalogs=notifier.texts.catalogs,
        text_reporting=notifier.text_reporting,
    )
    return notifier.receipts


async def _listen_for_replies(notifier: Notifier) -> None:
    """Residents' replies to emails over SMTP, when a reply domain and port are configured."""
    settings, inbound = notifier.settings, notifier.inbound
    if not settings.notifier_reply_domain or settings.notifier_reply_smtp_port is None or inbound is None:
        return
    pool = notifier.pool

    async def residents_of(number: str) -> Any:
        async with inbound_transaction(pool) as store:
            return await store.residents_of(number)

    async def land(resident_id: Any, number: str, message_id: str, text: str) -> None:
        async with inbound_transaction(pool) as store:
            jurisdiction_id = await store.jurisdiction_of(number)
        if jurisdiction_id is None or inbound is None:
            return
        # A Message-ID may name the sender's own domain: kept (and derived into the event id) as a digest only.
        digest = hashlib.sha256(f"{message_id}\n{number}".encode()).hexdigest()[:40]
        message = IncomingMessage(f"email:{digest}", NotificationChannel.email, "", text)
        await inbound.land_on(resident_id, OpenRequest(number, jurisdiction_id), message)

    handler = ReplyHandler(
        residents_of=residents_of, land=land, pepper=settings.pepper, domain=settings.notifier_reply_domain
    )
    server = await start_reply_listener(
        handler,
        host=settings.notifier_reply_smtp_host,
        port=settings.notifier_reply_smtp_port,
        max_bytes=settings.notifier_reply_max_bytes,
        hostname=settings.notifier_reply_domain,
    )

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    notifier.opened.push_async_callback(stop)


def _start_receipts(notifier: Notifier, receipts: DeliveryReceipts) -> None:
    """Receipts that came before their attempt committed are applied by this pass."""
    task = asyncio.create_task(receipts.run())

    async def stop() -> None:
        receipts.stop()
        await task

    notifier.opened.push_async_callback(stop)
