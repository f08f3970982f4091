"""`civicloop-intake poster`: an admin prints a poster from the host, as `POST /api/v1/admin/posters.{svg,pdf}` does.

It needs no database, broker or secret: only the public site's address (`CIVICLOOP_PUBLIC_BASE_URL`, as the service
reads it), which the poster's QR code links to."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from civicloop_intake.adapters.poster_pdf import poster_pdf
from civicloop_intake.domain.posters import PosterKind, PosterSpec, poster_svg, report_link

OUT = typer.Option(..., help="where to write it: .svg or .pdf")
KIND = typer.Option(PosterKind.spot, help="spot, kiosk or service_area")


def poster(
    poster_id: str = typer.Option(..., "--id", help="a short slug: the QR code's source is poster-<id>"),
    title: str = typer.Option(..., help="the headline: the place, kiosk or area"),
    out: Path = OUT,
    kind: PosterKind = KIND,
    address: str | None = typer.Option(None, help="the place, block level (`100 block of Elm St`)"),
    lat: float | None = typer.Option(None),
    lng: float | None = typer.Option(None),
    base_url: str = typer.Option(
        ..., envvar="CIVICLOOP_PUBLIC_BASE_URL", help="the residents' site the code opens"
    ),
) -> None:
    """Write a printable poster (one Letter page) whose QR code opens the report form for this place."""
    suffix = out.suffix.lower()
    if suffix not in (".svg", ".pdf"):
        typer.echo(f"{out}: the file must end in .svg or .pdf", err=True)
        raise typer.Exit(2)
    try:
        spec = PosterSpec(poster_id=poster_id, kind=kind, title=title, address=address, lat=lat, lng=lng)
    except ValidationError as exc:
        typer.echo(f"not a poster:\n{exc}", err=True)
        raise typer.Exit(2) from None
    link = report_link(base_url, spec)
    if suffix == ".pdf":
        out.write_bytes(poster_pdf(spec, link))
    else:
        out.write_text(poster_svg(spec, link), encoding="utf-8")
    typer.echo(f"{out}: {link}")
