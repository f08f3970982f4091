"""Topic names and their creation with explicit partitions and unlimited retention (the log is the record)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from civicloop_events.kafka_connection import client_options
from civicloop_events.topic_roles import TopicRole

if TYPE_CHECKING:
    from civicloop_events.payloads.base import EventPayload

REQUEST_EVENTS = TopicRole.request_events.value
REQUEST_EVENTS_DLQ = "requests.events.dlq"
JURISDICTION_CONFIG = TopicRole.jurisdiction_config.value


@dataclass(frozen=True)
class Topics:
    """The topic names of one deployment; a prefix isolates test runs that share a broker."""

    prefix: str = ""
    partitions: int = 6

    @property
    def request_events(self) -> str:
        return self.prefix + REQUEST_EVENTS

    @property
    def dead_letters(self) -> str:
        return self.prefix + REQUEST_EVENTS_DLQ

    @property
    def jurisdiction_config(self) -> str:
        return self.prefix + JURISDICTION_CONFIG

    def for_role(self, role: TopicRole) -> str:
        return self.prefix + role.value

    def of(self, payload: EventPayload | type[EventPayload]) -> str:
        """The topic events of this payload's type go on (each payload class declares its topic's role)."""
        return self.for_role(payload.topic)

    def specs(self) -> list[NewTopic]:
        forever = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
        return [
            NewTopic(self.request_events, self.partitions, 1, topic_configs=forever),
            NewTopic(self.dead_letters, 1, 1, topic_configs=forever),
            NewTopic(self.jurisdiction_config, 1, 1, topic_configs=forever),
        ]

    @classmethod
    def from_env(cls) -> Topics:
        return cls(
            prefix=os.environ.get("CIVICLOOP_TOPIC_PREFIX", ""),
            partitions=int(os.environ.get("CIVICLOOP_TOPIC_PARTITIONS", "6")),
        )


async def ensure_topics(bootstrap: str, topics: Topics, *, timeout_s: float = 60) -> list[str]:
    """Create missing topics; wait (bounded) for a broker that is still starting. Returns the names created."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [spec for spec in topics.specs() if spec.name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently by another process
                    await admin.create_topics(missing)
            return [spec.name for spec in missing]
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


cli = typer.Typer(help="Kafka topics of CivicLoop.", no_args_is_help=True, add_completion=False)


@cli.command()
def ensure(
    bootstrap: str = typer.Option(None, envvar="CIVICLOOP_KAFKA_BOOTSTRAP", help="host:port of the broker"),
) -> None:
    """Create the topics that are missing (idempotent)."""
    topics = Topics.from_env()
    created = asyncio.run(ensure_topics(bootstrap or "127.0.0.1:21092", topics))
    typer.echo(f"topics: created {', '.join(created)}" if created else "topics: all present")


@cli.command("list")
def list_() -> None:
    """Show the topic names this deployment uses."""
    topics = Topics.from_env()
    for name in (topics.request_events, topics.dead_letters, topics.jurisdiction_config):
        typer.echo(name)


async def partition_extents(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (first offset, end offset) of a topic right now (for replays, rebuilds and seeding)."""
    # Subscribed at construction without a group, so `start()` loads the topic's metadata and assigns every partition.
    consumer = AIOKafkaConsumer(topic, **client_options(bootstrap), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = sorted(consumer.assignment(), key=lambda tp: tp.partition)
        if not partitions:
            raise LookupError(f"topic {topic!r} does not exist")
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: (starts[tp], ends[tp]) for tp in partitions}
    finally:
        await consumer.stop()
