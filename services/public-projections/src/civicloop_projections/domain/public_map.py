"""The /public map: H3 cells' centres as circles in an SVG viewport, sized by their request counts. Pure, no IO."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    requests: int


def dots(
    cells: Sequence[tuple[float, float, int]], *, width: int = 640, height: int = 400, pad: int = 24
) -> list[Dot]:
    """(lat, long, requests) per cell -> circles in a `width` x `height` box, north up, the longitudes shrunk by
    the cosine of the mean latitude so the shape is right; a circle's area grows with its count."""
    if not cells:
        return []
    lats = [c[0] for c in cells]
    longs = [c[1] for c in cells]
    squeeze = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(longs) - min(longs)) * squeeze, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    most = max(c[2] for c in cells)
    # Centred in the box: a single cell, or a line of cells, sits in the middle rather than in a corner.
    left = (width - (max(longs) - min(longs)) * squeeze * scale) / 2
    bottom = (height + (max(lats) - min(lats)) * scale) / 2
    out = []
    for lat, long, requests in cells:
        x = left + (long - min(longs)) * squeeze * scale
        y = bottom - (lat - min(lats)) * scale
        out.append(Dot(round(x, 1), round(y, 1), round(4 + 14 * math.sqrt(requests / most), 1), requests))
    return out
