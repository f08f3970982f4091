"""`civicloop-outbound`: migrate, run the sender, see the queues, define, pause and resume bodies; `open311 ...`.

`migrate` is the service skeleton's (`civicloop_runtime.cli.service_cli`); the process is `run` (not `serve`), as
the deployment and the runbooks name it.

* `migrate` — the vault's migrations, then the outbound schema's (which moves the outbound tables out of `gateway`
  where the gateway's migrations had created them: run the gateway's first).
* `run [--host H] [--port P]` — the outbound consumers (config fold, dispatcher) and the sender loop, with the ops
  endpoints and the admin outbound API over HTTP; stops on SIGINT/SIGTERM.
* `status [--jurisdiction J]` — per body: queued, failed (retrying), sent, given up, paused, oldest age.
* `bodies define --jurisdiction J --file body.json` — publish `BodyDefined` (the file holds one body or a
  list of them, in BodyDefined's fields: body_id, name, send_method, service_codes, category_methods, email,
  priority_email, open311, webhook).
* `bodies pause --jurisdiction J --body B [--reason ...]` / `bodies resume -j J --body B`.
* `rules define --jurisdiction J --file rules.json` — publish `RoutingRulesDefined` (a list of rules).
* `requeue --request N | --body B [--jurisdiction J] [--operator O]` — publish `request.delivery.requeued` for each
  given-up report named (`entrypoints/requeue_cli.py`); the dispatcher queues it again with fresh attempts.
* `open311 run | poll | import | status | discover` — the Open311 client's poller (`entrypoints/open311_cli.py`).
* `hashes [--ignore table.column]` — the content hash of every table of outbound's state and of the whole: its queue
  and back-ends' answers are dispatch state, never rebuilt from the log (docs/operations.md, "Rebuilding read models").

Changes wait (bounded, `--wait`) until the outbound config fold has applied them.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

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
from civicloop_runtime.cli import command_pool, fail, run_server, service_cli
from civicloop_runtime.state_hashes import add_hashes
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from civicloop_outbound import database
from civicloop_outbound.entrypoints import open311_cli, requeue_cli
from civicloop_outbound.entrypoints.cli_support import AS_JSON, ONLY_JURISDICTION
from civicloop_outbound.service_layer.status import age_text, body_statuses
from civicloop_outbound.settings import SCHEMA, OutboundSettings

app = service_cli(
    name="civicloop-outbound",
    help="CivicLoop outbound: sending reports to the bodies' back-ends, hearing back from Open311 ones.",
    schemas=database.SCHEMAS,
)
bodies_app = typer.Typer(help="Bodies that receive reports.", no_args_is_help=True, add_completion=False)
rules_app = typer.Typer(help="Routing rules.", no_args_is_help=True, add_completion=False)
app.add_typer(bodies_app, name="bodies")
app.add_typer(rules_app, name="rules")
app.add_typer(open311_cli.app, name="open311")
app.command("requeue")(requeue_cli.requeue)
add_hashes(
    app,
    schema=SCHEMA,
    help="Print the content hash of every table of outbound's state (bodies, queue, references, back-ends' answers,"
    " ...) and of the whole: it is dispatch state, never rebuilt from the log (a rebuild would send again).",
)

CLI_CLIENT = "civicloop-outbound-cli"
ADMIN = Actor(kind=ActorKind.system, id="outbound-cli")
JURISDICTION = typer.Option(..., "--jurisdiction", "-j", help="jurisdiction id, e.g. sfgov.org")
BODIES_FILE = typer.Option(..., "--file", "-f", help="JSON: one body or a list of bodies")
RULES_FILE = typer.Option(..., "--file", "-f", help="JSON: the list of rules, in order")
M = TypeVar("M", bound=BaseModel)
WAIT = typer.Option(
    10.0, "--wait", min=0, help="seconds to wait for the outbound config fold to apply the change"
)


@app.command()
def run(
    host: str = typer.Option("127.0.0.1", help="interface of the ops endpoints and the admin API"),
    port: int = typer.Option(8005, help="port of the ops endpoints and the admin API"),
) -> None:
    """Run the outbound consumers and the sender loop (JSON logs), with /healthz, /readyz, /metrics and the admin
    outbound API over HTTP; stops cleanly on SIGINT/SIGTERM."""
    from civicloop_outbound.entrypoints.http import app_from_environment

    # uvicorn shuts the app down on SIGINT/SIGTERM (the sender stops, its consumers leave their groups), then raises
    # the signal again for whatever handled it before: a stop asked for is a normal exit, so that handler does nothing.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: None)
    run_server(app_from_environment(), host=host, port=port)


@app.command()
def status(
    jurisdiction: str = ONLY_JURISDICTION,
    as_json: bool = AS_JSON,
) -> None:
    """Per body: queued, failed (retrying), sent, given up, undeliverable updates, paused, and the oldest queued
    item's age."""
    settings = OutboundSettings()

    async def main() -> list[Any]:
        async with command_pool(settings.pg_dsn, name=CLI_CLIENT) as pool, pool.connection() as conn:
            return await body_statuses(conn, jurisdiction)

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
        "undeliverable",
        "paused",
        "oldest queued",
        "last error",
    ):
        table.add_column(
            column,
            justify="right"
            if column in ("queued", "failed", "sent", "given up", "undeliverable")
            else "left",
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
            str(r.undeliverable),
            f"yes ({r.paused_reason})" if r.paused and r.paused_reason else ("yes" if r.paused else "no"),
            age_text(r.oldest_queued_age_s),
            (r.last_error or "")[:60],
        )
    Console(width=200).print(table)


def _publish(jurisdiction: str, payloads: Sequence[EventPayload], wait: float) -> bool:
    settings = OutboundSettings()

    async def main() -> bool:
        producer = EventProducer(
            settings.kafka_bootstrap,
            settings.topics.jurisdiction_config,
            client_id=CLI_CLIENT,
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
        async with command_pool(settings.pg_dsn, name=CLI_CLIENT) as pool:
            return await wait_until_applied(
                pool,
                schema=SCHEMA,
                consumer=settings.outbound_config_consumer_group,
                topic=position.topic,
                partition=position.partition,
                offset=position.offset,
                timeout_s=wait,
            )

    return asyncio.run(main())


def _read_models(path: Path, model: type[M], what: str) -> list[M]:
    """The file's JSON, one `model` or a list of them; a file that cannot be read or validated ends the command."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read {path}: {exc}") from exc
    try:
        return [model.model_validate(one) for one in (data if isinstance(data, list) else [data])]
    except ValidationError as exc:
        raise fail(f"invalid {what}: {exc}") from exc


def _report(what: str, applied: bool) -> None:
    typer.echo(
        f"{what}: published" + ("; applied" if applied else "; not yet applied by the outbound config fold")
    )


@bodies_app.command("define")
def define_bodies(jurisdiction: str = JURISDICTION, file: Path = BODIES_FILE, wait: float = WAIT) -> None:
    """Publish BodyDefined for each body in the file (a body is replaced as a whole)."""
    bodies = _read_models(file, BodyDefined, "body")
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
    rules = _read_models(file, RoutingRule, "rule")
    _report(f"{len(rules)} routing rules", _publish(jurisdiction, [RoutingRulesDefined(rules=rules)], wait))


if __name__ == "__main__":
    app()
