"""`civicloop-gateway partners ...`: create, list and revoke partner clients and their API keys.

`create` draws a 256-bit key, publishes `PartnerAuthorised` with its SHA-256 digest only, and prints the key once;
`list` shows the partners view (key ids, never keys or digests); `revoke` publishes `PartnerKeyRevoked`. Both
changes wait, bounded, until the running gateway's view has applied them, so a `list` right after shows them.
Connection settings come from the usual `CIVICLOOP_*` variables (Kafka, PostgreSQL, topic prefix), read as
`GatewaySettings` inside `sealing_nothing()`: these commands never digest or seal personal data, so the partners Job
is not given the vault pepper.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from civicloop_events.producer import EventProducer
from civicloop_runtime.cli import command_pool, fail
from civicloop_runtime.db import open_pool
from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.table import Table

from civicloop_gateway.adapters.partner_postgres import list_partners
from civicloop_gateway.adapters.submit_kafka import ProducerEventLog
from civicloop_gateway.adapters.view_positions import FoldedView
from civicloop_gateway.domain.submit_errors import Rejected
from civicloop_gateway.service_layer.partner_admin import authorise_partner, revoke_key
from civicloop_gateway.service_layer.submit_ports import EventLogUnavailable
from civicloop_gateway.settings import SCHEMA, GatewaySettings, sealing_nothing

T = TypeVar("T")

app = typer.Typer(help="Partner clients and their API keys.", no_args_is_help=True, add_completion=False)


def _settings() -> GatewaySettings:
    """The gateway's settings without the vault pepper: nothing here digests or seals."""
    with sealing_nothing():
        return GatewaySettings()


JURISDICTION = typer.Option(..., "--jurisdiction", "-j", help="jurisdiction id, e.g. sfgov.org")
CLIENT_ID = typer.Option(..., "--client-id", "-c", help="the partner's client id (a-z 0-9 _ . -)")
WAIT = typer.Option(10.0, "--wait", min=0, help="seconds to wait for the gateway's view to show the change")


@asynccontextmanager
async def _connections(
    settings: GatewaySettings,
) -> AsyncIterator[tuple[ProducerEventLog, AsyncConnectionPool]]:
    pool = await open_pool(settings.pg_dsn, min_size=1, max_size=2, name="civicloop-gateway-partners-cli")
    producer = EventProducer(
        settings.kafka_bootstrap,
        settings.topics.jurisdiction_config,
        client_id="civicloop-gateway-partners-cli",
    )
    try:
        await producer.start()
        yield ProducerEventLog(producer, publish_timeout_s=settings.publish_timeout_s), pool
    finally:
        await producer.stop()
        await pool.close()


def _partners_view(pool: AsyncConnectionPool, settings: GatewaySettings, wait: float) -> FoldedView:
    """The running gateway's partners view (folded from `jurisdiction.config`), waited on `wait` seconds at most."""
    return FoldedView(
        pool,
        schema=SCHEMA,
        consumer=settings.config_consumer_group,
        topic=settings.topics.jurisdiction_config,
        timeout_s=wait,
    )


def _run(change: Coroutine[Any, Any, T]) -> T:
    """Run a command's change; a refused change or an unreachable broker ends the command with its error."""
    try:
        return asyncio.run(change)
    except (Rejected, EventLogUnavailable) as exc:
        raise fail(str(exc)) from None


@app.command()
def create(
    jurisdiction: str = JURISDICTION,
    client_id: str = CLIENT_ID,
    name: str = typer.Option(..., "--name", "-n", help="the partner's display name"),
    wait: float = WAIT,
) -> None:
    """Authorise a partner client with a new API key (shown once; a client may hold several keys)."""
    settings = _settings()

    async def main() -> tuple[str, str, bool]:
        async with _connections(settings) as (log, pool):
            authorised = await authorise_partner(jurisdiction, client_id, name, log=log)
            visible = await _partners_view(pool, settings, wait).wait_until_applied(authorised.position)
            return authorised.issued.key_id, authorised.issued.key, visible

    key_id, key, visible = _run(main())
    console = Console(highlight=False)
    table = Table(title="Partner authorised")
    for column in ("Jurisdiction", "Client id", "Name", "Key id"):
        table.add_column(column, no_wrap=True)
    table.add_row(jurisdiction, client_id, name, key_id)
    console.print(table)
    console.print("API key (shown once, only its SHA-256 digest is kept; store it now):")
    typer.echo(key)
    if not visible:
        console.print(
            f"[yellow]note:[/yellow] the gateway has not applied the change within {wait:g}s; "
            "the key works once it has."
        )


@app.command("list")
def list_(
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction"),
) -> None:
    """Partner clients and their key ids (never the keys)."""
    settings = _settings()

    async def main() -> list:
        async with command_pool(settings.pg_dsn, name="civicloop-gateway-partners-cli") as pool:
            return await list_partners(pool, jurisdiction_id=jurisdiction)

    partners = asyncio.run(main())
    table = Table(title="Partner clients")
    columns = (
        "Jurisdiction",
        "Client id",
        "Name",
        "Key id",
        "Authorised",
        "Revoked",
        "Requests",
        "Refused",
        "Last used",
    )
    for column in columns:
        table.add_column(column, no_wrap=True)
    for p in partners:
        table.add_row(
            p.jurisdiction_id,
            p.client_id,
            p.name,
            p.key_id,
            p.authorised_at,
            p.revoked_at or "",
            str(p.requests),
            str(p.refused),
            p.last_used_at or "",
        )
    Console(highlight=False).print(table)


@app.command()
def revoke(
    jurisdiction: str = JURISDICTION,
    client_id: str = CLIENT_ID,
    key_id: str = typer.Option(..., "--key-id", "-k", help="the key id `list` shows"),
    wait: float = WAIT,
) -> None:
    """Revoke one key of a partner client: it is refused (403) once the gateway has applied the revocation."""
    settings = _settings()

    async def main() -> bool:
        async with _connections(settings) as (log, pool):
            known = await list_partners(pool, jurisdiction_id=jurisdiction)
            position = await revoke_key(jurisdiction, client_id, key_id, known=known, log=log)
            return await _partners_view(pool, settings, wait).wait_until_applied(position)

    visible = _run(main())
    console = Console(highlight=False)
    console.print(f"revoked key {key_id} of client {client_id} in {jurisdiction}")
    if not visible:
        console.print(f"[yellow]note:[/yellow] the gateway has not applied the revocation within {wait:g}s.")
