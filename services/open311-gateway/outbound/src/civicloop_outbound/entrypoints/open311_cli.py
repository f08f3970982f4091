"""`civicloop-outbound open311 ...`: hear back from Open311 back-ends and import what they created.

* `open311 run` — the `ExternalReferenceAssigned` fold and the poller (tokens, updates every `poll_interval_s`, the
  daily mop-up, ongoing import); stops cleanly on SIGINT/SIGTERM.
* `open311 poll [--force] [-j J]` — one round of the poller now (`--force`: every body, due or not), a summary.
* `open311 import -j J --body B --since DATE [--until DATE]` — import a body's history (cut into ≤ 90-day windows).
* `open311 discover URL [--type test]` — read a discovery document and print the endpoint and format to configure.
* `open311 status [-j J] [--json]` — per body: poll windows and errors, tokens pending or given up, references,
  updates applied by polling (not the current state an import recorded), requests imported and skipped.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import typer
from civicloop_open311.dates import InvalidDate, parse_w3c
from civicloop_runtime.cli import command_pool, fail
from rich.console import Console
from rich.table import Table

from civicloop_outbound.entrypoints.cli_support import AS_JSON, ONLY_JURISDICTION

app = typer.Typer(
    help="Open311 back-ends: poll tokens and updates, import requests.",
    no_args_is_help=True,
    add_completion=False,
)
SERVICE = "civicloop-outbound-open311"


def _date(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_w3c(text).start.astimezone(UTC)
    except InvalidDate as exc:
        raise fail(f"--{name}: {exc}") from exc


async def _with_poller(fn: Any) -> Any:
    from civicloop_outbound.bootstrap import bootstrap
    from civicloop_outbound.settings import OutboundSettings

    service = await bootstrap(OutboundSettings(), sending=False)
    try:
        return await fn(service.open311_poller(), service.pool)
    finally:
        await service.close()


@app.command()
def run() -> None:
    """The reference fold and the poller, until SIGINT/SIGTERM (JSON logs)."""
    from civicloop_runtime.process import configured
    from civicloop_runtime.signals import run_until_stopped

    from civicloop_outbound.bootstrap import bootstrap
    from civicloop_outbound.settings import OutboundSettings

    settings = configured(SERVICE, OutboundSettings)
    run_until_stopped(partial(bootstrap, settings, sending=False, polling=True))


@app.command()
def poll(
    force: bool = typer.Option(False, "--force", help="poll every body now, due or not"),
    jurisdiction: str = typer.Option(None, "--jurisdiction", "-j", help="only this jurisdiction's bodies"),
) -> None:
    """One round of the poller: tokens, due bodies' updates and imports, due mop-ups."""

    async def go(poller: Any, pool: Any) -> dict[str, Any]:
        return await poller.run_once(force=force, jurisdiction_id=jurisdiction)

    reports = asyncio.run(_with_poller(go))
    for key, r in reports.items():
        typer.echo(
            f"{key}: fetched {r.fetched}, applied {r.applied}, status changes {r.status_changes}, "
            f"notes {r.notes}, duplicates {r.duplicates}, unknown {r.unknown_request}, imported {r.imported}"
        )
        for reason, n in sorted(r.skipped.items()):
            typer.echo(f"  {n} x {reason}")
        if (capped := r.capped_error()) is not None:
            typer.echo(f"  NOT READ WHOLE: {capped}")
    if not reports:
        typer.echo("no body was due")


@app.command("import")
def import_(
    jurisdiction: str = typer.Option(..., "--jurisdiction", "-j", help="our jurisdiction id"),
    body: str = typer.Option(..., "--body", help="the body whose back-end to import from"),
    since: str = typer.Option(..., "--since", help="W3C date: first requested_datetime to import"),
    until: str = typer.Option(None, "--until", help="W3C date: last requested_datetime (default: now)"),
) -> None:
    """Import a body's history: requests created in the back-end from --since to --until, each at most once."""
    from civicloop_outbound.service_layer.store import load_body

    start = _date(since, "since")
    end = _date(until, "until") or datetime.now(UTC)
    if start is None:  # typer requires --since; this is for the type checker
        raise fail("--since is required")
    if end <= start:
        raise fail("--until must be after --since")

    async def go(poller: Any, pool: Any) -> Any:
        async with pool.connection() as conn:
            record = await load_body(conn, jurisdiction, body)
        if record is None or record.definition.open311 is None:
            raise fail(f"no body {body!r} with an Open311 connection in {jurisdiction}")
        return await poller.import_window(record, start, end)

    report = asyncio.run(_with_poller(go))
    typer.echo(f"fetched {report.fetched}, imported {report.imported}")
    for reason, n in sorted(report.skipped.items()):
        typer.echo(f"skipped {n}: {reason}")
    if report.capped:  # the history has holes: say where, and fail, so a script does not take it as complete
        for s, e in report.capped:
            typer.echo(f"NOT READ WHOLE (capped answer): {s.isoformat()} .. {e.isoformat()}", err=True)
        raise fail(report.capped_error() or "capped answers")


STATUS_SQL = """
select b.jurisdiction_id, b.body_id, b.definition -> 'open311' ->> 'updates_method',
       (select window_end from outbound.backend_poll_state p where p.jurisdiction_id = b.jurisdiction_id
          and p.body_id = b.body_id and p.kind = 'updates'),
       (select string_agg(kind || ': ' || last_error, '; ') from outbound.backend_poll_state p
          where p.jurisdiction_id = b.jurisdiction_id and p.body_id = b.body_id and last_error is not null),
       (select count(*) from outbound.open311_tokens t where t.jurisdiction_id = b.jurisdiction_id
          and t.body_id = b.body_id and t.state = 'pending'),
       (select count(*) from outbound.open311_tokens t where t.jurisdiction_id = b.jurisdiction_id
          and t.body_id = b.body_id and t.state = 'given_up'),
       (select count(*) from outbound.external_refs r where r.jurisdiction_id = b.jurisdiction_id
          and r.body_id = b.body_id),
       (select count(*) from outbound.backend_updates_seen u where u.jurisdiction_id = b.jurisdiction_id
          and u.body_id = b.body_id and not u.by_import),
       (select count(*) from outbound.backend_imports i where i.jurisdiction_id = b.jurisdiction_id
          and i.body_id = b.body_id and i.outcome = 'imported'),
       (select count(*) from outbound.backend_imports i where i.jurisdiction_id = b.jurisdiction_id
          and i.body_id = b.body_id and i.outcome = 'skipped'),
       coalesce((select s.failures from outbound.body_poll_streaks s where s.jurisdiction_id = b.jurisdiction_id
          and s.body_id = b.body_id), 0)
  from outbound.bodies b
 where b.definition -> 'open311' is not null and jsonb_typeof(b.definition -> 'open311') = 'object'
   and (%(j)s::text is null or b.jurisdiction_id = %(j)s)
 order by 1, 2
"""
STATUS_COLUMNS = (
    "jurisdiction",
    "body",
    "updates_method",
    "polled_to",
    "errors",
    "tokens_pending",
    "tokens_given_up",
    "references",
    "updates_applied",
    "imported",
    "import_skipped",
    "failing_polls",  # failed poll rounds in a row, now
)


@app.command()
def status(
    jurisdiction: str = ONLY_JURISDICTION,
    as_json: bool = AS_JSON,
) -> None:
    """Per Open311 body: how far polling got, tokens, references, updates and imports."""
    from civicloop_outbound.settings import OutboundSettings

    async def main() -> list[tuple[Any, ...]]:
        async with command_pool(OutboundSettings().pg_dsn, name=SERVICE) as pool, pool.connection() as conn:
            cur = await conn.execute(STATUS_SQL, {"j": jurisdiction})
            return await cur.fetchall()

    rows = [dict(zip(STATUS_COLUMNS, r, strict=True)) for r in asyncio.run(main())]
    for r in rows:
        r["polled_to"] = r["polled_to"].isoformat() if r["polled_to"] else None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(*STATUS_COLUMNS)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r.values()))
    Console().print(table)


@app.command()
def discover(
    url: str = typer.Argument(..., help="the discovery document's URL (discovery.json or .xml)"),
    kind: str = typer.Option("production", "--type", help="production or test"),
) -> None:
    """Pick the GeoReport v2 endpoint of a discovery document and the format to use (JSON when offered)."""
    import httpx

    from civicloop_outbound.adapters.open311_client import Open311Failure
    from civicloop_outbound.adapters.open311_client import discover as discover_endpoint

    async def go() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            return await discover_endpoint(http, url, kind=kind)

    try:
        found = asyncio.run(go())
    except Open311Failure as exc:
        raise fail(str(exc)) from exc
    if found is None:
        raise fail(f"no {kind} GeoReport v2 endpoint in {url}")
    endpoint, fmt = found
    typer.echo(
        json.dumps(
            {
                "endpoint": endpoint.url,
                "format": fmt,
                "formats": list(endpoint.formats),
                "changeset": endpoint.changeset.isoformat() if endpoint.changeset else None,
            }
        )
    )
