"""`civicloop-outbound requeue --request N | --body B [--jurisdiction J]`: put given-up reports back on their
body's queue.

For each given-up report it names (one per request and body), it publishes `request.delivery.requeued` (actor
`system outbound-cli:<operator>`), which the outbound dispatcher applies once: the report is queued again with fresh
attempts, in its place in the body's order. The event's id derives from the row and how many times it was requeued
(`service_layer.requeue`), so running the command twice before the first is applied publishes the same events
(dropped as repeats), and running it after a report was given up again requeues it again. It prints what it
requeued. An admin does the same for one report over HTTP (`entrypoints.body_admin`).
"""

from __future__ import annotations

import asyncio
import getpass
import json

import typer
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import DeliveryRequeued
from civicloop_events.producer import EventProducer
from civicloop_runtime.cli import command_pool, fail

from civicloop_outbound.service_layer import requeue as requeues
from civicloop_outbound.service_layer.store import GivenUp, given_up
from civicloop_outbound.settings import OutboundSettings

CLI_CLIENT = "civicloop-outbound-cli"
SOURCE = "outbound-cli"


def requeue_event(item: GivenUp, *, operator: str) -> Event[DeliveryRequeued]:
    """The requeue of one given-up report, as the operator; its id derives from the row and its requeues."""
    return requeues.requeue_event(
        item, actor=Actor(kind=ActorKind.system, id=f"{SOURCE}:{operator}"[:120]), source=SOURCE
    )


def requeue(
    request: str | None = typer.Option(None, "--request", "-r", help="the request number"),
    body: str | None = typer.Option(None, "--body", "-b", help="every given-up report of this body"),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction"),
    operator: str = typer.Option(
        "", help="who runs this (recorded as the actor `outbound-cli:<operator>`); default: your login"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of lines"),
) -> None:
    """Requeue given-up reports (of a request, or of a body) with fresh attempts, and print them."""
    if (request is None) == (body is None):
        raise fail("name either --request or --body")
    settings = OutboundSettings()
    who = operator or getpass.getuser()

    async def main() -> list[GivenUp]:
        async with command_pool(settings.pg_dsn, name=CLI_CLIENT) as pool, pool.connection() as conn:
            items = await given_up(conn, request_id=request, body_id=body, jurisdiction_id=jurisdiction)
        if not items:
            return []
        producer = EventProducer(
            settings.kafka_bootstrap, settings.topics.request_events, client_id=CLI_CLIENT
        )
        await producer.start()
        try:
            await producer.publish_many([requeue_event(item, operator=who) for item in items])
        finally:
            await producer.stop()
        return items

    items = asyncio.run(main())
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "request_id": i.request_id,
                        "jurisdiction_id": i.jurisdiction_id,
                        "body_id": i.body_id,
                        "attempts": i.attempts,
                    }
                    for i in items
                ],
                indent=2,
            )
        )
        return
    for i in items:
        typer.echo(
            f"requeued {i.request_id} to {i.jurisdiction_id}/{i.body_id} (given up after {i.attempts} attempts)"
        )
    typer.echo(f"{len(items)} report(s) requeued" if items else "nothing given up to requeue")
