"""`civicloop-selfheal`: migrate, serve (HTTP, the view's consumers and the schedule), consume, sweep, runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer
from civicloop_runtime.cli import command_pool, fail, service_cli
from civicloop_runtime.process import configured
from civicloop_runtime.service_commands import add_consume, without_consumers
from rich.console import Console
from rich.table import Table

from civicloop_selfheal import database
from civicloop_selfheal.adapters.postgres_sweep import latest_runs
from civicloop_selfheal.bootstrap import bootstrap
from civicloop_selfheal.domain.runs import RunReport, Trigger
from civicloop_selfheal.entrypoints.http import SERVICE, app_from_environment
from civicloop_selfheal.settings import SelfhealSettings

app = service_cli(
    name="civicloop-selfheal",
    help="CivicLoop selfheal: nothing stays stuck, nobody is spammed.",
    schemas=database.SCHEMAS,
    serve_app=app_from_environment,
    port=8007,
    serve_help="The HTTP API (the cron route, the runs), with the view's consumers and the sweep schedule.",
)

add_consume(
    app,
    SERVICE,
    SelfhealSettings,
    bootstrap,
    help="The view's consumers and the sweep schedule only, no HTTP; stops cleanly on SIGINT/SIGTERM.",
)


@app.command("sweep")
def sweep() -> None:
    """Run one sweep now (the view as the running service folded it) and print what it found and did."""
    settings = configured(SERVICE, SelfhealSettings)

    async def main() -> RunReport | None:
        topic = settings.topics.request_events
        async with without_consumers(
            bootstrap, settings, topic=topic, client_id="civicloop-selfheal"
        ) as service:
            return await service.sweep_now(Trigger.command)

    report = asyncio.run(main())
    if report is None:
        raise fail("a sweep is running already (here or in another replica); nothing was started")
    typer.echo(json.dumps(report.as_json(), indent=2))


@app.command("runs")
def runs(limit: int = typer.Option(20, min=1, max=500, help="how many of the latest runs")) -> None:
    """The latest sweeps: trigger, when, outcome, what each found and did."""
    settings = configured(SERVICE, SelfhealSettings)

    async def main() -> list[dict[str, Any]]:
        async with command_pool(settings.pg_dsn, name="civicloop-selfheal-runs") as pool:
            return await latest_runs(pool, limit=limit)

    table = Table("started", "trigger", "staff", "outcome", "found", "done", "errors", title="selfheal runs")
    for r in asyncio.run(main()):
        table.add_row(
            r["started_at"].isoformat(timespec="seconds"),
            r["trigger"],
            r["staff_id"] or "",
            r["outcome"] or "running",
            _counts(r["found"]),
            _counts(r["done"]),
            str(len(r["errors"])),
        )
    Console().print(table)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"


if __name__ == "__main__":
    app()
