"""How a place is shown in public (DESIGN §4): an H3 cell's centre and a block-level address.

Every service that serves public output (the Open311 gateway, the public projections, geo's heat-map) generalises
with these functions, so the same request shows the same public place everywhere. Pure functions, no IO.
"""

from __future__ import annotations

import re

import h3
from civicloop_events.payloads import PublicPlace

from civicloop_places.scrub import scrub_contacts

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


def block_address(address: str | None) -> str | None:
    """'2111 W Bellevue Ave, Apt 3, 90026' -> '2100 block of W Bellevue Ave, 90026'.

    A phone or an email typed into it is removed. An intersection ('8TH AVE and JUDAH ST') names no home and is kept. Anything else free-form ('outside my
    house, I am Jane') could name a person or a home, so it is not shown at all: the H3 cell still places it.
    """
    if not address:
        return None
    text = _UNIT.sub("", " ".join(address.split())).strip(" ,")
    # A phone or an email typed into an address is no part of the place: the part after a comma holding one is
    # dropped, the street's own part keeps markers in their stead ('12 Main St ring 410-555-0134').
    street, *rest = (part.strip() for part in text.split(","))
    text = ", ".join([scrub_contacts(street), *(part for part in rest if scrub_contacts(part) == part)])
    match = _HOUSE_NUMBER.match(text)
    if match:
        block = int(match.group(1)) // 100 * 100
        return f"{block} block of {match.group('rest').strip()}"
    crossing = _INTERSECTION.match(text.split(",")[0])
    if crossing and all(_STREET_WORD.search(crossing.group(side).strip()) for side in ("a", "b")):
        return text
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
