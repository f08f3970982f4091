"""`civicloop-events`: the contract's JSON Schemas, and the auditors' replay of a request's history from the log."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition

from civicloop_events import schemas
from civicloop_events.kafka_connection import client_options
from civicloop_events.registry import decode_event
from civicloop_events.topics import Topics

app = typer.Typer(help="CivicLoop event contract tools.", no_args_is_help=True, add_completion=False)


@app.command("schemas")
def schemas_cmd(
    write: bool = typer.Option(False, "--write", help="regenerate the checked-in schema files"),
) -> None:
    """Check (default) or regenerate the JSON Schemas in libs/events/schemas/."""
    if write:
        for path in schemas.write():
            typer.echo(f"wrote {path}")
        return
    stale = schemas.drift()
    if stale:
        typer.echo("schemas out of date: " + ", ".join(stale) + " (run `make schemas`)", err=True)
        raise typer.Exit(1)
    typer.echo("schemas up to date")


async def _replay(bootstrap: str, topic: str, request_id: str) -> list[dict[str, Any]]:
    """Read the whole topic (every partition, from offset 0) and keep the events of one request, in log order.

    An event is reported once, where it first stands: a copy with the same `event_id` further on (an older record
    published twice, or one that slipped past the publisher's search) is the same event, not a second one."""
    # Subscribing without a group assigns every partition of the topic; no offsets are committed.
    consumer = AIOKafkaConsumer(
        topic,
        **client_options(bootstrap),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist")
        ends = await consumer.end_offsets(partitions)
        history: list[dict[str, Any]] = []
        seen: set[Any] = set()
        while [tp for tp in partitions if await _behind(consumer, tp, ends[tp])]:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    if r.key == request_id.encode():
                        event = decode_event(r.value)
                        if event.event_id in seen:
                            continue
                        seen.add(event.event_id)
                        history.append(
                            {
                                "partition": r.partition,
                                "offset": r.offset,
                                **json.loads(event.model_dump_json()),
                            }
                        )
        return history
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    if end == 0:
        return False
    if tp not in consumer.assignment():  # assignment is still being made
        return True
    position: int = await consumer.position(tp)
    return position < end


@app.command()
def replay(
    request_id: str = typer.Argument(..., help="the request number"),
    bootstrap: str = typer.Option("127.0.0.1:21092", envvar="CIVICLOOP_KAFKA_BOOTSTRAP"),
) -> None:
    """Print a request's complete, timestamped history from the log (JSON lines, upcast to current versions)."""
    topic = Topics(prefix=os.environ.get("CIVICLOOP_TOPIC_PREFIX", "")).request_events
    for entry in asyncio.run(_replay(bootstrap, topic, request_id)):
        typer.echo(json.dumps(entry, sort_keys=True))
