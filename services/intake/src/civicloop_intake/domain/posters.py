"""Posters that invite residents to report a problem where they stand: a service area, a kiosk, a known problem spot.

The poster's QR code opens `/report?address=&lat=&lng=&source=poster-<id>` on the deployment's public site; the
submission it leads to carries `source: poster-<id>`, so admins can count which posters bring reports
(`GET /api/v1/admin/report-sources`). The layout is pure (this module); the PDF is drawn by an adapter.
"""

from __future__ import annotations

import enum
import html
from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from civicloop_intake.domain.qr_codes import qr_modules

POSTER_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
"""A poster's id: a short slug (`d3`, `library-kiosk`); `poster-<id>` must still be a link source."""
REPORT_PATH = "/report"


class PosterKind(str, enum.Enum):
    service_area = "service_area"
    kiosk = "kiosk"
    spot = "spot"


class PosterSpec(BaseModel):
    """What a poster says and where its QR code leads."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    poster_id: str = Field(pattern=POSTER_ID_PATTERN, max_length=32, description="e.g. `d3`")
    kind: PosterKind = PosterKind.spot
    title: str = Field(min_length=1, max_length=80, description="the headline, e.g. the place's name")
    address: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)

    @property
    def source(self) -> str:
        return f"poster-{self.poster_id}"


def report_link(base_url: str, spec: PosterSpec) -> str:
    """The link the poster's code holds: the report form with the place and the poster's source filled in.

    A kiosk or service-area poster names no point (residents say where the problem is); a spot's does."""
    query: dict[str, str] = {}
    if spec.address:
        query["address"] = spec.address
    if spec.lat is not None and spec.lng is not None:
        query["lat"] = f"{spec.lat:.6f}"
        query["lng"] = f"{spec.lng:.6f}"
    query["source"] = spec.source
    return f"{base_url.rstrip('/')}{REPORT_PATH}?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class PosterText:
    headline: str
    call: str
    call_es: str
    steps: tuple[str, ...]
    footer: str


def poster_text(spec: PosterSpec, link: str) -> PosterText:
    where = {
        PosterKind.spot: "See a problem here?",
        PosterKind.kiosk: "See a problem nearby?",
        PosterKind.service_area: "See a problem in this area?",
    }[spec.kind]
    return PosterText(
        headline=spec.title,
        call=f"{where} Report it in a minute.",
        call_es="¿Ve un problema? Repórtelo en un minuto.",
        steps=(
            "1. Scan the code with your phone's camera.",
            "2. Say what is wrong; add a photo if you can.",
            "3. Get a number to follow it. No account needed.",
        ),
        footer=link if len(link) <= 90 else link[:87] + "...",
    )


# US Letter in points (72 per inch): what county printers take; A4 fits it with the margins below.
PAGE_W, PAGE_H = 612, 792
MARGIN = 54
QR_SIDE = 324  # 4.5 inches: scans from a few metres away
QR_TOP = 250


def headline_size(headline: str) -> int:
    """Points for the headline: 36, smaller for a long one so it fits the page's width (Helvetica averages about
    0.55 em per character)."""
    return max(14, min(36, int((PAGE_W - 2 * MARGIN) / (0.55 * max(len(headline), 1)))))


def poster_svg(spec: PosterSpec, link: str) -> str:
    """The poster as one SVG page (Letter, in points), the QR code drawn as vector modules."""
    text = poster_text(spec, link)
    modules = qr_modules(link)
    n = len(modules)
    cell = QR_SIDE / n
    qr_x, qr_y = (PAGE_W - QR_SIDE) / 2, QR_TOP
    rects = "".join(
        f'<rect x="{qr_x + c * cell:.2f}" y="{qr_y + r * cell:.2f}" width="{cell:.3f}" height="{cell:.3f}"/>'
        for r, row in enumerate(modules)
        for c, dark in enumerate(row)
        if dark
    )
    e = html.escape
    steps = "".join(
        f'<text x="{MARGIN}" y="{qr_y + QR_SIDE + 50 + i * 26}" font-size="18">{e(s)}</text>'
        for i, s in enumerate(text.steps)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}pt" height="{PAGE_H}pt" '
        f'viewBox="0 0 {PAGE_W} {PAGE_H}" role="img" font-family="Helvetica, Arial, sans-serif">'
        f"<title>{e(text.headline)}: scan to report a problem</title>"
        f'<rect width="{PAGE_W}" height="{PAGE_H}" fill="#fff"/>'
        f'<text x="{PAGE_W / 2}" y="{MARGIN + 36}" font-size="{headline_size(text.headline)}" font-weight="bold" text-anchor="middle">'
        f"{e(text.headline)}</text>"
        f'<text x="{PAGE_W / 2}" y="{MARGIN + 96}" font-size="24" text-anchor="middle">{e(text.call)}</text>'
        f'<text x="{PAGE_W / 2}" y="{MARGIN + 132}" font-size="20" text-anchor="middle">{e(text.call_es)}</text>'
        f'<g fill="#000" shape-rendering="crispEdges">{rects}</g>'
        f"{steps}"
        f'<text x="{PAGE_W / 2}" y="{PAGE_H - MARGIN}" font-size="10" text-anchor="middle">{e(text.footer)}</text>'
        "</svg>"
    )
