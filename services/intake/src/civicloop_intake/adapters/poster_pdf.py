"""A poster as a one-page PDF (fpdf2): the same layout as `domain.posters.poster_svg`, the QR code drawn as vector
squares so it prints sharp at any size. Helvetica (a PDF core font) covers Latin-1, so English and Spanish text
needs no embedded font."""

from __future__ import annotations

from fpdf import FPDF

from civicloop_intake.domain.posters import (
    MARGIN,
    PAGE_H,
    PAGE_W,
    QR_SIDE,
    QR_TOP,
    PosterSpec,
    headline_size,
    poster_text,
)
from civicloop_intake.domain.qr_codes import qr_modules


def poster_pdf(spec: PosterSpec, link: str) -> bytes:
    text = poster_text(spec, link)
    pdf = FPDF(unit="pt", format=(PAGE_W, PAGE_H))
    pdf.set_title(_latin1(f"{text.headline}: scan to report a problem"))
    pdf.set_creator("CivicLoop")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = PAGE_W - 2 * MARGIN

    def centred(y: float, size: int, line: str, style: str = "") -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.set_xy(MARGIN, y)
        pdf.cell(width, size * 1.2, _latin1(line), align="C")

    centred(MARGIN, headline_size(text.headline), text.headline, "B")
    centred(MARGIN + 72, 24, text.call)
    centred(MARGIN + 108, 20, text.call_es)
    modules = qr_modules(link)
    cell = QR_SIDE / len(modules)
    left = (PAGE_W - QR_SIDE) / 2
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules: a smaller file that renders faster
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(left + start * cell, QR_TOP + r * cell, (c - start) * cell, cell, style="F")
    pdf.set_font("Helvetica", size=18)
    for i, step in enumerate(text.steps):
        pdf.set_xy(MARGIN, QR_TOP + QR_SIDE + 32 + i * 26)
        pdf.cell(width, 22, _latin1(step))
    centred(PAGE_H - MARGIN - 12, 10, text.footer)
    return bytes(pdf.output())


def _latin1(line: str) -> str:
    """What a core font can show: characters outside Latin-1 become `?` rather than failing the poster."""
    return line.translate(_TYPOGRAPHY).encode("latin-1", "replace").decode("latin-1")


_TYPOGRAPHY = str.maketrans(
    {"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)
