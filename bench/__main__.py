"""`make bench` (`python -m bench`): every benchmark, each beside a ceiling measured in the same run."""

from __future__ import annotations

import asyncio

import typer

from bench import consumer_runner, geo, intake_pipeline, open311_gateway
from bench.wrk import Load

app = typer.Typer(add_completion=False)


@app.command()
def main(
    connections: int = typer.Option(16, help="wrk's open connections (closed loop)"),
    threads: int = typer.Option(2, help="wrk's threads"),
    concurrency: int = typer.Option(8, help="in-process workers of geo's database-level phases"),
    seconds: float = typer.Option(10, help="duration of each closed-loop phase"),
    rate: float = typer.Option(50, help="offered load (req/s) for the lag measurement"),
    lag_seconds: float = typer.Option(20, help="duration of the steady-load phase"),
    rows: int = typer.Option(1_000_000, help="requests in the Open311 and geo read models"),
    records: int = typer.Option(20_000, help="records the consumer runner applies"),
    only: str = typer.Option("", help="run one benchmark: intake | open311 | geo | consumer"),
) -> None:
    load = Load(connections=connections, threads=threads, seconds=seconds)
    if only in ("", "intake"):
        typer.echo("== intake and agent projection ==")
        for line in asyncio.run(intake_pipeline.run(load=load, rate=rate, lag_seconds=lag_seconds)):
            typer.echo(line)
    if only in ("", "open311"):
        typer.echo("== Open311 gateway ==")
        for line in asyncio.run(open311_gateway.run(rows=rows, load=load)):
            typer.echo(line)
    if only in ("", "geo"):
        typer.echo("== geo ==")
        for line in asyncio.run(geo.run(rows=rows, concurrency=concurrency, seconds=seconds)):
            typer.echo(line)
    if only in ("", "consumer"):
        typer.echo("== consumer runner ==")
        for line in asyncio.run(consumer_runner.run(records)):
            typer.echo(line)


if __name__ == "__main__":
    app()
