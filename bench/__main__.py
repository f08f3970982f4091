"""`make bench` (`python -m bench`): every benchmark, each beside a ceiling measured in the same run."""

from __future__ import annotations

import asyncio

import typer

from bench import geo, intake_pipeline, open311_gateway

app = typer.Typer(add_completion=False)


@app.command()
def main(
    concurrency: int = typer.Option(16, help="closed-loop workers"),
    seconds: float = typer.Option(10, help="duration of each closed-loop phase"),
    rate: float = typer.Option(50, help="offered load (req/s) for the lag measurement"),
    lag_seconds: float = typer.Option(20, help="duration of the steady-load phase"),
    rows: int = typer.Option(1_000_000, help="requests in the Open311 and geo read models"),
    only: str = typer.Option("", help="run one benchmark: intake | open311 | geo"),
) -> None:
    if only in ("", "intake"):
        typer.echo("== intake and agent projection ==")
        for line in asyncio.run(
            intake_pipeline.run(concurrency=concurrency, seconds=seconds, rate=rate, lag_seconds=lag_seconds)
        ):
            typer.echo(line)
    if only in ("", "open311"):
        typer.echo("== Open311 gateway ==")
        for line in asyncio.run(open311_gateway.run(rows=rows, concurrency=concurrency, seconds=seconds)):
            typer.echo(line)
    if only in ("", "geo"):
        typer.echo("== geo ==")
        for line in asyncio.run(geo.run(rows=rows, concurrency=min(concurrency, 8), seconds=seconds)):
            typer.echo(line)


if __name__ == "__main__":
    app()
