"""`civicloop-gateway outbound ...`: run the sender, see the queues, define, pause and resume bodies.

* `outbound run` — the outbound consumers (config fold, dispatcher) and the sender loop; stops on SIGINT/SIGTERM.
* `outbound status [--jurisdiction J]` — per body: queued, failed (retrying), sent, given up, paused, oldest age.
* `outbound bodies define --jurisdiction J --file body.json` — publish `BodyDefined` (the file holds one body or a
  list of them, in BodyDefined's fields: body_id, name, send_method, service_codes, category_methods, email,
  priority_email, open311, webhook).
* `outbound bodies pause --jurisdiction J --body B [--reason ...]` / `outbound bodies resume -j J --body B`.
* `outbound rules define --jurisdiction J --file rules.json` — publish `RoutingRulesDefined` (a list of rules).

Changes wait (bounded, `--wait`) until the outbound config fold has applied them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.consumer import wait_until_applied
from civicloop_events.payloads import (
    BodyDefined,
    BodyPaused,
    BodyResumed,
    EventPayload,
    RoutingRule,
    RoutingRulesDefined,
)
from civicloop_events.producer import EventProducer, Position
from civicloop_runtime.db import open_pool
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.signals import wait_for_stop_signal
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from civicloop_gateway.outbound.settings import OUTBOUND_CONFIG_CONSUMER
from civicloop_gateway.outbound.status import age_text, body_statuses
from civicloop_gateway.settings import SCHEMA

app = typer.Typer(
    help="Outbound sending to back-ends: bodies, queues, the sender.",
    no_args_is_help=True,
    add_completion=False,
)
bodies_app = typer.Typer(help="Bodies that receive reports.", no_args_is_help=True, add_completion=False)
rules_app = typer.Typer(help="Routing rules.", no_args_is_help=True, add_completion=False)
app.add_typer(bodies_app, name="bodies")
app.add_typer(rules_app, name="rules")

SERVICE = "civicloop-gateway-outbound"
ADMIN = Actor(kind=ActorKind.system, id="outbound-cli")
JURISDICTION = typer.Option(..., "--jurisdiction", "-j", help="jurisdiction id, e.g. sfgov.org")
BODIES_FILE = typer.Option(..., "--file", "-f", help="JSON: one body or a list of bodies")
RULES_FILE = typer.Option(..., "--file", "-f", help="JSON: the list of rules, in order")
WAIT = typer.Option(
    10.0, "--wait", min=0, help="seconds to wait for the outbound config fold to apply the change"
)


class OutboundCliSettings(ServiceSettings):
    """What the CLI needs besides `run`: no vault pepper, it never touches personal data."""

    outbound_config_consumer_name: str = OUTBOUND_CONFIG_CONSUMER

    @property
    def outbound_config_consumer_group(self) -> str:
        return self.topic_prefix + self.outbound_config_consumer_name


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=1)


@app.command()
def run() -> None:
    """Run the outbound consumers and the sender loop (JSON logs); stops cleanly on SIGINT/SIGTERM."""
    from civicloop_runtime.logs import configure_logging
    from civicloop_runtime.telemetry import configure_tracing
    from civicloop_runtime.vault import ResidentKeyVault

    from civicloop_gateway.outbound.service import Outbound, default_senders
    from civicloop_gateway.outbound.settings import OutboundSettings

    settings = OutboundSettings()
    configure_logging(SERVICE, settings.log_level)
    configure_tracing(SERVICE)

    async def main() -> None:
        pool = await open_pool(settings.pg_dsn, min_size=1, max_size=settings.pool_max_size, name=SERVICE)
        producer = EventProducer(settings.kafka_bootstrap, settings.topics.request_events, client_id=SERVICE)
        outbound = Outbound(
            settings=settings,
            pool=pool,
            producer=producer,
            vault=ResidentKeyVault(pool, pepper=settings.pepper),
            senders=default_senders(settings, pool),
        )
        try:
            await producer.start()
            outbound.start()
            await wait_for_stop_signal()
        finally:
            await outbound.stop()
            await producer.stop()
            await pool.close()

    asyncio.run(main())


@app.command()
def status(
    jurisdiction: str = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
) -> None:
    """Per body: queued, failed (retrying), sent, given up, paused, and the oldest queued item's age."""
    settings = OutboundCliSettings()

    async def main() -> list[Any]:
        pool = await open_pool(settings.pg_dsn, min_size=1, max_size=1, name="civicloop-gateway-outbound-cli")
        try:
            async with pool.connection() as conn:
                return await body_statuses(conn, jurisdiction)
        finally:
            await pool.close()

    rows = asyncio.run(main())
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2))
        return
    table = Table(title="Outbound, per body")
    for column in (
        "jurisdiction",
        "body",
        "method",
        "queued",
        "failed",
        "sent",
        "given up",
        "paused",
        "oldest queued",
        "last error",
    ):
        table.add_column(
            column, justify="right" if column in ("queued", "failed", "sent", "given up") else "left"
        )
    for r in rows:
        table.add_row(
            r.jurisdiction_id,
            r.body_id,
            r.send_method,
            str(r.queued),
            str(r.retrying),
            str(r.sent),
            str(r.given_up),
            f"yes ({r.paused_reason})" if r.paused and r.paused_reason else ("yes" if r.paused else "no"),
            age_text(r.oldest_queued_age_s),
            (r.last_error or "")[:60],
        )
    Console(width=200).print(table)


def _publish(jurisdiction: str, payloads: Sequence[EventPayload], wait: float) -> bool:
    settings = OutboundCliSettings()

    async def main() -> bool:
        producer = EventProducer(
            settings.kafka_bootstrap,
            settings.topics.jurisdiction_config,
            client_id="civicloop-gateway-outbound-cli",
        )
        position: Position | None = None
        await producer.start()
        try:
            for payload in payloads:
                position = await producer.publish(
                    Event.create(
                        payload, request_id=None, jurisdiction_id=jurisdiction, actor=ADMIN, source="admin"
                    )
                )
        finally:
            await producer.stop()
        if position is None or wait <= 0:
            return False
        pool = await open_pool(settings.pg_dsn, min_size=1, max_size=1, name="civicloop-gateway-outbound-cli")
        try:
            return await wait_until_applied(
                pool,
                schema=SCHEMA,
                consumer=settings.outbound_config_consumer_group,
                topic=position.topic,
                partition=position.partition,
                offset=position.offset,
                timeout_s=wait,
            )
        finally:
            await pool.close()

    return asyncio.run(main())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from exc


def _report(what: str, applied: bool) -> None:
    typer.echo(
        f"{what}: published" + ("; applied" if applied else "; not yet applied by the outbound config fold")
    )


@bodies_app.command("define")
def define_bodies(jurisdiction: str = JURISDICTION, file: Path = BODIES_FILE, wait: float = WAIT) -> None:
    """Publish BodyDefined for each body in the file (a body is replaced as a whole)."""
    data = _read_json(file)
    try:
        bodies = [BodyDefined.model_validate(b) for b in (data if isinstance(data, list) else [data])]
    except ValidationError as exc:
        raise _fail(f"invalid body: {exc}") from exc
    _report("bodies " + ", ".join(b.body_id for b in bodies), _publish(jurisdiction, list(bodies), wait))


@bodies_app.command("pause")
def pause(
    jurisdiction: str = JURISDICTION,
    body: str = typer.Option(..., "--body", "-b"),
    reason: str = typer.Option("", "--reason", help="why (shown in status)"),
    wait: float = WAIT,
) -> None:
    """Stop sending to a body: its reports queue and go out, in order, on resume."""
    _report(f"body {body} paused", _publish(jurisdiction, [BodyPaused(body_id=body, reason=reason)], wait))


@bodies_app.command("resume")
def resume(
    jurisdiction: str = JURISDICTION, body: str = typer.Option(..., "--body", "-b"), wait: float = WAIT
) -> None:
    """Send to a body again, its queued reports first, in order."""
    _report(f"body {body} resumed", _publish(jurisdiction, [BodyResumed(body_id=body)], wait))


@rules_app.command("define")
def define_rules(jurisdiction: str = JURISDICTION, file: Path = RULES_FILE, wait: float = WAIT) -> None:
    """Publish RoutingRulesDefined: the jurisdiction's rules, replaced as a whole."""
    data = _read_json(file)
    try:
        rules = [RoutingRule.model_validate(r) for r in (data if isinstance(data, list) else [data])]
    except ValidationError as exc:
        raise _fail(f"invalid rule: {exc}") from exc
    _report(f"{len(rules)} routing rules", _publish(jurisdiction, [RoutingRulesDefined(rules=rules)], wait))
