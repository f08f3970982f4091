"""The gazetteer's scoring rules: how much a match of each kind is worth, and which known address points to trust.

Pure: the PostGIS gazetteer (`adapters/gazetteer.py`) reads the candidates, these rules score and order them.
Confidence (0..1) is a base for the kind of match, multiplied by how well the street matched (name similarity, and
whether the direction and suffix agree), the unit and the zip code.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from civicloop_geo.domain.addresses import StreetRef
from civicloop_geo.domain.places import GeocodeResult, distance_m

MIN_STREET_SCORE = 0.5  # below this a similar name is another street, not a typo
SAME_SEGMENT_M = 800.0  # neighbours closer than this are on one piece of the street, whatever their numbers
MAX_M_PER_NUMBER = 3.0  # farther apart than this per house number: not one run of the street (city blocks run
# ~100 numbers per 100-150 m), so no interpolation between them
ZIP_SLACK_M = (
    1500.0  # an estimate this far outside the zip code's usual radius is on the wrong piece of street
)
CORNER_MAX_M = 1000.0  # two streets' closest address points farther apart than this: the streets do not meet


def agreement(asked: str, found: str, *, conflict: float) -> float:
    if asked == found:
        return 1.0
    if not asked:
        return 0.97  # residents often leave the direction or suffix out
    if not found:
        return 0.9
    return conflict


def numbers_in_name(name: str) -> str:
    return "".join(re.findall(r"\d+", name))


def street_score(asked: StreetRef, found: StreetRef, name_score: float) -> float:
    # 71ST and 21ST are one edit apart and different streets: numbered names must agree on their numbers.
    if numbers_in_name(asked.name) != numbers_in_name(found.name):
        return 0.0
    return (
        name_score
        * agreement(asked.predir, found.predir, conflict=0.6)
        * agreement(asked.suffix, found.suffix, conflict=0.75)
        * agreement(asked.postdir, found.postdir, conflict=0.6)
    )


def clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def interpolation_base(gap: int) -> float:
    return 0.85 if gap <= 20 else 0.8 if gap <= 100 else 0.72 if gap <= 400 else 0.62


def nearest_number_base(diff: int) -> float:
    return 0.65 if diff <= 50 else 0.58 if diff <= 150 else 0.5 if diff <= 400 else 0.4


def corner_factor(d: float) -> float:
    # Address points sit back from the corner: under ~40 m apart is as good as this method gets.
    return 1.0 if d <= 40 else max(0.5, 1.0 - 0.5 * (d - 40) / 260)


def reverse_confidence(distance: float, max_distance: float) -> float:
    """1.0 on the point, 0.4 at the edge of the search radius."""
    return clamp(1.0 - 0.6 * distance / max_distance)


@dataclass(frozen=True)
class Neighbour:
    number: int
    postcode: str
    lat: float
    long: float


def pick_neighbour(rows: Sequence[Neighbour], number: int, postcode: str) -> Neighbour | None:
    """The neighbour on the same side of the street (parity), in the same zip when known, nearest in number."""
    if not rows:
        return None
    return min(
        rows,
        key=lambda r: (
            bool(postcode and r.postcode and r.postcode != postcode),
            r.number % 2 != number % 2,
            abs(r.number - number),
        ),
    )


def one_run(lo: Neighbour, hi: Neighbour) -> bool:
    """Two known numbers on one straight-ish run of the street, so a number between them lies between them."""
    d = distance_m(lo.lat, lo.long, hi.lat, hi.long)
    return d <= SAME_SEGMENT_M or d / (hi.number - lo.number) <= MAX_M_PER_NUMBER


def extrapolate(near: Neighbour, rows: Sequence[Neighbour], number: int) -> tuple[float, float]:
    """`near` moved towards `number` along the line from a farther known number through it (at most one and a half
    times their spacing beyond it), or `near` itself when no second number gives a plausible direction."""
    beyond = [
        r for r in rows if abs(r.number - number) > abs(near.number - number) and r.number != near.number
    ]
    for far in sorted(beyond, key=lambda r: abs(r.number - near.number)):
        span = abs(near.number - far.number)
        d = distance_m(near.lat, near.long, far.lat, far.long)
        if d / span > MAX_M_PER_NUMBER or d < 1:
            continue
        t = min(abs(number - near.number) / span, 1.5)
        return near.lat + t * (near.lat - far.lat), near.long + t * (near.long - far.long)
    return near.lat, near.long


def zip_checked(r: GeocodeResult, lat: float, long: float, radius_m: float) -> GeocodeResult:
    if distance_m(r.lat, r.long, lat, long) <= radius_m + ZIP_SLACK_M:
        return r
    return dataclasses.replace(r, confidence=r.confidence * 0.5)


def best_first(results: list[GeocodeResult], limit: int) -> list[GeocodeResult]:
    """Highest confidence first; one result per place (addresses within ~1 m and of the same label merge)."""
    seen: set[tuple[str, float, float]] = set()
    out: list[GeocodeResult] = []
    for r in sorted(results, key=lambda r: -r.confidence):
        key = (r.address, round(r.lat, 5), round(r.long, 5))
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
        if len(out) >= limit:
            break
    return out
