"""How a place is shown in public (DESIGN §4): an H3 cell's centre and a block-level address.

Every service that serves public output (the Open311 gateway, the public projections, geo's heat-map) generalises
with these functions, so the same request shows the same public place everywhere. Pure functions, no IO.
"""

from __future__ import annotations

import re

import h3
from civicloop_events.payloads import PublicPlace

DEFAULT_RESOLUTION = 9  # cells of about 0.1 km², edge about 200 m: a block or two in a city

_HOUSE_NUMBER = re.compile(r"^\s*(\d{1,6})(?:\s*-\s*\d{1,6})?[A-Za-z]?\s+(?P<rest>\S.*)$")
_UNIT = re.compile(
    r"\s*(?:,\s*)?(?:#|\b(?:APT|APARTMENT|UNIT|STE|SUITE|FL|FLOOR|RM|ROOM)\b\.?)\s*[\w-]+", re.IGNORECASE
)
_INTERSECTION = re.compile(
    r"^(?P<a>[\w .'-]{2,80}?)\s+(?:&|AND|AT|/|@)\s+(?P<b>[\w .'-]{2,80})$", re.IGNORECASE
)
_STREET_WORD = re.compile(
    r"\b(?:ST|STREET|AVE?|AVENUE|RD|ROAD|BLVD|BOULEVARD|DR|DRIVE|WAY|LN|LANE|PL|PLACE|CT|COURT|HWY|HIGHWAY|PKWY|"
    r"PARKWAY|TER|TERRACE|CIR|CIRCLE|SQ|SQUARE|BROADWAY)\.?$",
    re.IGNORECASE,
)
# A street: up to six words ending with a street type (the last one among them), and its direction if it has one.
_STREET_AT_START = re.compile(
    r"^(?:[\w.'-]+\s+){0,5}"
    r"(?:ST|STREET|AVE?|AVENUE|RD|ROAD|BLVD|BOULEVARD|DR|DRIVE|WAY|LN|LANE|PL|PLACE|CT|COURT|HWY|HIGHWAY|PKWY|"
    r"PARKWAY|TER|TERRACE|CIR|CIRCLE|SQ|SQUARE|BROADWAY)\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?",
    re.IGNORECASE,
)
_ZIPCODE = re.compile(r"^\d{5}(?:-\d{4})?$")


def block_address(address: str | None) -> str | None:
    """'2111 W Bellevue Ave, Apt 3, 90026' -> '2100 block of W Bellevue Ave, 90026'.

    An intersection ('8TH AVE and JUDAH ST') names no home and is kept. Of the rest only the street (up to its
    street type) and a ZIP code are shown: whatever else was typed ('12 Main St, ring Jane on 410-555-0134', 'outside
    my house, I am Jane') could name a person or a home, so it is not shown at all: the H3 cell still places it.
    """
    if not address:
        return None
    text = _UNIT.sub("", " ".join(address.split())).strip(" ,")
    first, *rest = (part.strip() for part in text.split(","))
    zipcode = "".join(f", {part}" for part in rest[-1:] if _ZIPCODE.match(part))
    match = _HOUSE_NUMBER.match(first)
    if match:
        street = _STREET_AT_START.match(match.group("rest").strip())
        if street is None:
            return None
        block = int(match.group(1)) // 100 * 100
        return f"{block} block of {street.group(0)}{zipcode}"
    crossing = _INTERSECTION.match(first)
    if crossing and all(_STREET_WORD.search(crossing.group(side).strip()) for side in ("a", "b")):
        return f"{first}{zipcode}"
    return None


def public_place(
    lat: float, long: float, address: str | None = None, *, resolution: int = DEFAULT_RESOLUTION
) -> PublicPlace:
    """The H3 cell holding the point, its centre as the public point, and the block-level address."""
    cell = h3.latlng_to_cell(lat, long, resolution)
    centre_lat, centre_long = h3.cell_to_latlng(cell)
    return PublicPlace(
        h3_cell=cell,
        h3_resolution=resolution,
        lat=round(centre_lat, 6),
        long=round(centre_long, 6),
        address=block_address(address),
    )
