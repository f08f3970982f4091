"""`make bench` (`python -m bench`): every benchmark, each beside a ceiling measured in the same run.
`make soak` (`python -m bench --only soak`): every consumer keeps up under a sustained load, or not."""

from __future__ import annotations

import asyncio

import typer
from civicloop_testing.topic_cleanup import delete_created

from bench import (
    consumer_runner,
    geo,
    history,
    intake_pipeline,
    notifier,
    open311_gateway,
    open_data,
    replay,
    whole_system,
)
from bench.wrk import Load

app = typer.Typer(add_completion=False)

# In the order `make bench` runs them; `soak` runs only when asked for.
PHASES = (
    "rss",
    "system",
    "lag",
    "replay",
    "history",
    "intake",
    "open311",
    "geo",
    "consumer",
    "notifier",
    "open-data",
)
WHOLE_SYSTEM = {"rss", "system", "lag"}


def selected(only: str) -> set[str]:
    """The phases `--only` names (comma-separated), every one but the soak when empty."""
    asked = {p.strip() for p in only.split(",") if p.strip()}
    unknown = asked - {*PHASES, "soak"}
    if unknown:
        raise typer.BadParameter(f"unknown phase(s) {sorted(unknown)}; phases: {', '.join(PHASES)}, soak")
    return asked or set(PHASES)


@app.command()
def main(
    connections: int = typer.Option(16, help="wrk's open connections (closed loop)"),
    threads: int = typer.Option(2, help="wrk's threads"),
    concurrency: int = typer.Option(8, help="in-process workers of geo's database-level phases"),
    seconds: float = typer.Option(10, help="duration of each closed-loop phase"),
    rate: float = typer.Option(50, help="offered load (req/s) of the intake phase's lag measurement"),
    lag_seconds: float = typer.Option(20, help="duration of each steady-load (paced) lag phase"),
    lag_rate: float = typer.Option(
        500, help="offered load (req/s) of the whole system's agent view lag phase"
    ),
    rows: int = typer.Option(1_000_000, help="requests in the Open311 and geo read models"),
    records: int = typer.Option(20_000, help="records the consumer runner applies"),
    replay_requests: int = typer.Option(5_000, help="requests whose events fill the log of the replay phase"),
    history_events: int = typer.Option(
        1_000_000, help="events the history phase writes (or as many as --history-fill-seconds allow)"
    ),
    history_fill_seconds: float = typer.Option(300, help="the history phase's bound on filling the log"),
    notifications: int = typer.Option(
        2_000, help="submissions whose notifications the notifier phase sends (one each)"
    ),
    open_data_rows: int = typer.Option(
        1_000_000, help="requests in the public read model the open-data export writes"
    ),
    soak_seconds: float = typer.Option(300, help="duration of the soak"),
    soak_rate: float = typer.Option(500, help="offered load (req/s) of the soak"),
    soak_every: float = typer.Option(5, help="seconds between two lag samples of the soak"),
    only: str = typer.Option(
        "", help=f"comma-separated phases to run: {', '.join(PHASES)}, soak (default: all but soak)"
    ),
) -> None:
    phases = selected(only)
    load = Load(connections=connections, threads=threads, seconds=seconds)
    try:
        if phases & WHOLE_SYSTEM:
            typer.echo("== the whole system, as `make run` runs it ==")
            for line in asyncio.run(
                whole_system.run(phases=phases, load=load, lag_rate=lag_rate, lag_seconds=lag_seconds)
            ):
                typer.echo(line)
        if "replay" in phases:
            typer.echo("== replay: rebuilding read models from the log ==")
            asyncio.run(replay.run(requests=replay_requests, echo=typer.echo))
        if "history" in phases:
            typer.echo("== one request's history: the request index beside the whole topic's scan ==")
            asyncio.run(
                history.run(events=history_events, fill_seconds=history_fill_seconds, echo=typer.echo)
            )
        if "intake" in phases:
            typer.echo("== intake and agent projection (only these two running) ==")
            for line in asyncio.run(intake_pipeline.run(load=load, rate=rate, lag_seconds=lag_seconds)):
                typer.echo(line)
        if "open311" in phases:
            typer.echo("== Open311 gateway ==")
            for line in asyncio.run(open311_gateway.run(rows=rows, load=load)):
                typer.echo(line)
        if "geo" in phases:
            typer.echo("== geo ==")
            for line in asyncio.run(geo.run(rows=rows, concurrency=concurrency, seconds=seconds)):
                typer.echo(line)
        if "consumer" in phases:
            typer.echo("== consumer runner ==")
            for line in asyncio.run(consumer_runner.run(records)):
                typer.echo(line)
        if "notifier" in phases:
            typer.echo("== notifier: submissions on the log to an SMTP relay, then to the local Twilio ==")
            for line in asyncio.run(notifier.run(notifications)):
                typer.echo(line)
        if "open-data" in phases:
            typer.echo("== open-data export: the public read model to CSV, GeoJSON and Parquet ==")
            for line in asyncio.run(open_data.run(open_data_rows)):
                typer.echo(line)
        if "soak" in phases:
            typer.echo("== soak: every consumer keeps up ==")
            asyncio.run(
                whole_system.soak(
                    load=load, rate=soak_rate, seconds=soak_seconds, every_s=soak_every, echo=typer.echo
                )
            )

    finally:
        delete_created()  # the scratch topics every phase made on the broker


if __name__ == "__main__":
    app()
