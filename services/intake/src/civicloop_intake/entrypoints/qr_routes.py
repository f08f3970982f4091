"""QR codes for anyone (`GET /api/qr`), and for admins the posters that carry them and the count of reports each
link source brought (docs/posters.md)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from civicloop_staff.roles import Role, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, require_staff
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from civicloop_intake.adapters.poster_pdf import poster_pdf
from civicloop_intake.adapters.postgres_tracking import reports_by_link_source
from civicloop_intake.domain.posters import PosterSpec, poster_svg, report_link
from civicloop_intake.domain.qr_codes import (
    QR_DATA_MAX,
    QR_PATH,
    QR_SIZE_DEFAULT,
    QR_SIZE_MAX,
    QR_SIZE_MIN,
    QrRefused,
    checked,
    qr_svg,
)
from civicloop_intake.entrypoints.models import MalformedBodyRead, ValidationErrorRead
from civicloop_intake.entrypoints.routes import IntakeDep

QR_MAX_AGE_S = (
    86_400  # a code never changes for the same data and size: let browsers and proxies keep it a day
)
SVG = "image/svg+xml"

qr_router = APIRouter(tags=["QR codes"])
poster_router = APIRouter(prefix="/api/v1/admin", tags=["posters"], responses=STAFF_RESPONSES)
Admin = Annotated[StaffPrincipal, Depends(require_staff(Role.admin))]


@qr_router.get(
    QR_PATH,
    response_class=Response,
    responses={
        200: {"content": {SVG: {}}, "description": "the QR code, an SVG `size` pixels square"},
        304: {"description": "the code the client holds (If-None-Match) is still this one"},
        422: {
            "model": ValidationErrorRead,
            "description": "data or size out of bounds, or a link to another site (type `qr_refused`)",
        },
        429: {"description": "too many codes asked for by this client"},
    },
)
async def qr_code(
    request: Request,
    intake: IntakeDep,
    data: Annotated[str, Query(max_length=QR_DATA_MAX * 4, description="text, or a link to this site")],
    size: Annotated[int, Query(description=f"pixels, {QR_SIZE_MIN} to {QR_SIZE_MAX}")] = QR_SIZE_DEFAULT,
) -> Response:
    """A QR code as SVG. Public and cached; limited to text and to links under the deployment's public site, so it
    cannot lend the county's name to a link elsewhere."""
    try:
        wanted = checked(data, size, own_base=intake.settings.public_base_url)
    except QrRefused as refused:
        field = "size" if refused.field == "size" else "data"
        return JSONResponse(
            {"detail": [{"type": "qr_refused", "loc": ["query", field], "msg": str(refused)}]},
            status_code=422,
        )
    etag = '"' + hashlib.sha256(f"{wanted.size}\n{wanted.data}".encode()).hexdigest()[:32] + '"'
    cache = {"Cache-Control": f"public, max-age={QR_MAX_AGE_S}, immutable", "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status_code=304, headers=cache)
    return Response(qr_svg(wanted, title="QR code"), media_type=SVG, headers=cache)


@poster_router.post(
    "/posters.{fmt}",
    response_class=Response,
    responses={
        200: {"content": {SVG: {}, "application/pdf": {}}, "description": "the poster, one Letter page"},
        400: {"model": MalformedBodyRead, "description": "the body is not readable JSON"},
        422: {
            "model": ValidationErrorRead,
            "description": "an id that is not a short slug, a title too long, a latitude out of range...",
        },
    },
)
async def build_poster(
    spec: PosterSpec, fmt: Literal["svg", "pdf"], admin: Admin, intake: IntakeDep
) -> Response:
    """A printable poster whose QR code opens `/report?address=&lat=&lng=&source=poster-<id>` on the public site."""
    link = report_link(intake.settings.public_base_url, spec)
    name = f'attachment; filename="poster-{spec.poster_id}.{fmt}"'
    if fmt == "pdf":
        return Response(
            poster_pdf(spec, link), media_type="application/pdf", headers={"Content-Disposition": name}
        )
    return Response(poster_svg(spec, link), media_type=SVG, headers={"Content-Disposition": name})


class ReportSourceRead(BaseModel):
    source: str = Field(examples=["poster-d3"])
    reports: int
    latest_at: datetime


class ReportSourcesRead(BaseModel):
    jurisdiction_id: str
    since: datetime | None
    sources: list[ReportSourceRead] = Field(description="most reports first")


@poster_router.get(
    "/report-sources",
    response_model=ReportSourcesRead,
    responses={503: {"description": "intake runs without its database"}},
)
async def report_sources(
    admin: Admin,
    intake: IntakeDep,
    since: Annotated[datetime | None, Query(description="count reports submitted from then on")] = None,
) -> ReportSourcesRead | JSONResponse:
    """How many reports each link source (poster, kiosk, campaign) brought in the admin's jurisdiction: which
    posters work. Counted from the track view, a moment behind the log."""
    if intake.pool is None:
        return JSONResponse({"error": "unavailable", "detail": "no database"}, status_code=503)
    rows = await reports_by_link_source(intake.pool, admin.jurisdiction_id, since=since)
    return ReportSourcesRead(
        jurisdiction_id=admin.jurisdiction_id,
        since=since,
        sources=[ReportSourceRead(source=s, reports=n, latest_at=at) for s, n, at in rows],
    )
