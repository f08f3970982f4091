"""Where a report came from when a link brought it: a poster, a kiosk, a campaign (`poster-d3`, `kiosk-library`).

A link source is a short slug the report form passes on as the submission's `source`. The channel words intake
already knew (`web`, `sms`, `agent`...) keep their meaning: they say how the report arrived, and become the
envelope's `source`. Any other slug is a link source: the report arrived through the web form (envelope `web`) and
the slug (`LINK_SOURCE_PATTERN`: lower-case letters, digits and inner hyphens, at most 40 characters, nothing that
needs escaping where it is shown) goes on `request.submitted` as `link_source`, where the audit history and the
count by source find it. Anyone can type a slug into a link, so it is shown to staff only, never on public pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from civicloop_events.payloads import LINK_SOURCE_PATTERN

_LINK_SOURCE = re.compile(LINK_SOURCE_PATTERN)


def is_link_source(value: str) -> bool:
    return bool(_LINK_SOURCE.match(value))


@dataclass(frozen=True, slots=True)
class ReportLinkFields:
    """What a report link fills in (submission field names): the resident still says what is wrong."""

    address_string: str | None = None
    lat: float | None = None
    long: float | None = None
    source: str | None = None


def report_link_fields(link: str) -> ReportLinkFields:
    """The fields of a `/report?address=&lat=&lng=&source=` link, each dropped when it is not usable (a link on a
    poster can be old, hand-typed or tampered with: it prefills, never refuses)."""
    query = parse_qs(urlsplit(link).query, max_num_fields=8)

    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0].strip() or None if values else None

    lat, lng = _coordinate(first("lat"), 90), _coordinate(first("lng"), 180)
    has_point = lat is not None and lng is not None
    address = first("address")
    source = first("source")
    return ReportLinkFields(
        address_string=address if address and len(address) <= 500 else None,
        lat=lat if has_point else None,
        long=lng if has_point else None,
        source=source if source and is_link_source(source) else None,
    )


def _coordinate(text: str | None, bound: float) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and -bound <= value <= bound else None
