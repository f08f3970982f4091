"""The notifier under test: its settings on the test's topics, recording senders, a clock the test can move."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_channels.message import Channel as WireChannel
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    Channel,
    EventPayload,
    Location,
    NotificationChannel,
    ServiceRequestSubmitted,
)
from civicloop_events.personal_data import PersonalData
from civicloop_events.producer import Position
from civicloop_events.topics import Topics
from civicloop_notifier.adapters.recording_sender import RecordingChannelSender
from civicloop_notifier.bootstrap import Notifier, bootstrap
from civicloop_notifier.settings import NotifierSettings
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import publish_events

AGENT = Actor(kind=ActorKind.agent, id="staff-7")
NAME = "Ana Lopez"


def new_number() -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "1" + "".join(random.choices(alphabet, k=3)) + "-" + "".join(random.choices(alphabet, k=4))


@dataclass
class Clock:
    """Real time plus an offset the test moves (quiet hours, back-off)."""

    offset: timedelta = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Harness:
    settings: NotifierSettings
    topics: Topics
    kafka: str
    vault: ResidentKeyVault
    clock: Clock = field(default_factory=Clock)
    senders: dict[NotificationChannel, RecordingChannelSender] = field(default_factory=dict)
    positions: list[Position] = field(default_factory=list)
    phone: str = field(default_factory=lambda: "+1202555" + "".join(random.choices(string.digits, k=4)))
    email: str = field(default_factory=lambda: f"{unique_letters(8)}@example.org")

    def __post_init__(self) -> None:
        self.senders = self.senders or {
            c: RecordingChannelSender(WireChannel(c.value))
            for c in (NotificationChannel.sms, NotificationChannel.email, NotificationChannel.whatsapp)
        }

    @asynccontextmanager
    async def running(
        self, *, start_consumers: bool = True, start_sending: bool = True, **overrides: Any
    ) -> AsyncIterator[Notifier]:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        notifier = await bootstrap(
            settings,
            vault=self.vault,
            senders=self.senders,
            clock=self.clock,
            start_consumers=start_consumers,
            start_sending=start_sending,
        )
        try:
            yield notifier
        finally:
            await notifier.close()

    async def publish(self, *events: Event[Any]) -> None:
        self.positions += await publish_events(self.kafka, self.topics.request_events, events)

    async def applied(self, notifier: Notifier) -> None:
        await assert_applied(
            notifier.pool,
            schema="notifier",
            consumer=notifier.settings.requests_consumer_name,
            positions=self.positions,
        )

    async def submitted(
        self,
        number: str,
        *,
        language: str = "en",
        channel: Channel = Channel.sms,
        phone: str | None = "",
        email: str | None = "",
    ) -> Event[Any]:
        """A submission by this test's resident (their own phone and email unless told: `None` leaves one out)."""
        phone = self.phone if phone == "" else phone
        email = self.email if email == "" else email
        sealed = await self.vault.seal(PersonalData(name=NAME, phone=phone, email=email))
        payload = ServiceRequestSubmitted(
            service_code="pothole",
            description="Deep hole",
            location=Location(lat=38.9, long=-77.0),
            contact=sealed,
            preferred_channel=channel,
            language=language,
        )
        return Event.create(
            payload,
            request_id=number,
            jurisdiction_id="demo",
            actor=Actor(kind=ActorKind.resident, id=str(sealed.resident_id)),
            source="web",
        )


def agent(number: str, payload: EventPayload) -> Event[Any]:
    return Event.create(payload, request_id=number, jurisdiction_id="demo", actor=AGENT, source="agent")


def settings_for(dsn: str, topics: Topics, kafka: str, **more: Any) -> NotifierSettings:
    tag = uuid.uuid4().hex[:8]
    return NotifierSettings(
        pg_dsn=dsn,
        kafka_bootstrap=kafka,
        topic_prefix=topics.prefix,
        topic_partitions=topics.partitions,
        requests_consumer_name=f"notifier.requests.v1.{tag}",
        staff_directory_consumer_name=f"notifier.staff.v1.{tag}",
        vault_pepper="notifier-tests-pepper-0123456789",
        tracking_url="https://civicloop.example/track/{number}",
        consumer_backoff_initial_s=0.01,
        consumer_backoff_max_s=0.05,
        notifier_poll_interval_s=0.05,
        notifier_backoff_initial_s=0.01,
        notifier_backoff_max_s=0.05,
        notifier_max_attempts=3,
        **more,
    )


def unique_letters(n: int = 6) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))
