"""Deliberately public routes (no account, no personal data): the weekly CSV and the /public transparency page.

Both read only the public read model (`projections.public_requests`) and the SLA verdicts; both are served from
memory for `public_cache_s` and say so to caches (`Cache-Control`). docs/public.md documents every figure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civicloop_projections.adapters import public_queries
from civicloop_projections.domain.public_map import dots
from civicloop_projections.domain.public_stats import WEEKLY_COLUMNS, weekly_csv
from civicloop_projections.settings import ProjectionSettings

router = APIRouter(tags=["public"])
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
DAYS = 7
Jurisdiction = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="one jurisdiction (default: all)",
    ),
]


def _settings(request: Request) -> ProjectionSettings:
    return request.app.state.service.settings


_CACHE_ENTRIES = (
    256  # jurisdiction filters are the caller's: a bounded cache, so random ones cannot fill memory
)


async def _cached(request: Request, key: tuple[Any, ...], produce: Callable[[], Awaitable[str]]) -> str:
    """The text produced for `key` at most `public_cache_s` ago, or a new one (one cache per app)."""
    ttl = _settings(request).public_cache_s
    cache: dict[tuple[Any, ...], tuple[float, str]] | None = getattr(request.app.state, "public_cache", None)
    if cache is None:
        cache = request.app.state.public_cache = {}
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    text = await produce()
    for stale in [k for k, (at, _) in cache.items() if now - at >= ttl]:
        del cache[stale]
    if len(cache) >= _CACHE_ENTRIES:
        cache.pop(next(iter(cache)))
    cache[key] = (time.monotonic(), text)
    return text


def _cache_headers(request: Request) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={int(_settings(request).public_cache_s)}"}


@router.get(
    "/api/public/weekly.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "columns: " + ", ".join(WEEKLY_COLUMNS)}},
    summary="Weekly aggregates of every week, as CSV (public, no personal data; docs/public.md)",
)
async def weekly(request: Request, jurisdiction_id: Jurisdiction = None) -> Response:
    settings = _settings(request)

    async def produce() -> str:
        async with request.app.state.service.pool.connection() as conn:
            rows = await public_queries.weekly(
                conn,
                now=datetime.now(UTC),
                jurisdiction=jurisdiction_id,
                default_tz=settings.public_time_zone,
            )
        return weekly_csv(rows)

    text = await _cached(request, ("weekly", jurisdiction_id), produce)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**_cache_headers(request), "Content-Disposition": 'inline; filename="weekly.csv"'},
    )


def _hours(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _share(value: float | None) -> str:
    return "no data" if value is None else f"{round(100 * value)}%"


@router.get(
    "/public",
    response_class=HTMLResponse,
    summary="The transparency page: the last 7 days, no personal data (public; docs/public.md)",
)
async def public_page(request: Request, jurisdiction_id: Jurisdiction = None) -> HTMLResponse:
    settings = _settings(request)

    async def produce() -> str:
        now = datetime.now(UTC)
        since = now - timedelta(days=DAYS)
        async with request.app.state.service.pool.connection() as conn:
            rows = await public_queries.summary(
                conn, now=now, since=since, jurisdiction=jurisdiction_id, default_tz=settings.public_time_zone
            )
            cells, hidden = await public_queries.cells(
                conn, since=since, jurisdiction=jurisdiction_id, min_count=settings.public_min_cell_count
            )
        overall = next((r for r in rows if r["dimension"] == "all"), None)
        return _TEMPLATES.get_template("public.html.j2").render(
            days=DAYS,
            since=since,
            now=now,
            jurisdiction_id=jurisdiction_id,
            overall=overall,
            categories=[r for r in rows if r["dimension"] == "category"],
            areas=[r for r in rows if r["dimension"] == "service_area"],
            dots=dots([(c["lat"], c["long"], c["requests"]) for c in cells]),
            hidden=hidden,
            k=settings.public_min_cell_count,
            hours=_hours,
            share=_share,
        )

    html = await _cached(request, ("public", jurisdiction_id), produce)
    return HTMLResponse(html, headers=_cache_headers(request))
