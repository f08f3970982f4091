"""The response format is the path's suffix (G-01): `services.xml`, `requests/SRQ.1.json`.

The suffix is split on the LAST dot, so identifiers that contain dots still route (G-03). Anything but `xml` or
`json` is a 404 (G-05), answered with an Open311 error document in XML, the format every client must read.
"""

from __future__ import annotations

import enum

XML_CONTENT_TYPE = "text/xml; charset=utf-8"  # G-11
JSON_CONTENT_TYPE = "application/json; charset=utf-8"  # G-11


class Format(str, enum.Enum):
    xml = "xml"
    json = "json"

    @property
    def content_type(self) -> str:
        return XML_CONTENT_TYPE if self is Format.xml else JSON_CONTENT_TYPE

    @property
    def media_type(self) -> str:
        """The MIME type discovery lists (DS-03 `formats`)."""
        return "text/xml" if self is Format.xml else "application/json"


class UnknownFormat(LookupError):
    def __init__(self, suffix: str) -> None:
        super().__init__(f"Bad extension {suffix!r}: we support .xml and .json")
        self.suffix = suffix


def parse_format(suffix: str) -> Format:
    """`xml` / `json` (exact, lower-case) -> Format; anything else raises UnknownFormat (G-05)."""
    try:
        return Format(suffix)
    except ValueError:
        raise UnknownFormat(suffix) from None


def split_resource(name: str) -> tuple[str, Format]:
    """`SRQ-1.2.xml` -> (`SRQ-1.2`, xml): the name before the last dot and the format after it."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        raise UnknownFormat(suffix if dot else "")
    return stem, parse_format(suffix)


def format_of_path(path: str) -> Format | None:
    """The format a request path asks for, or None when its last segment has no known suffix (errors use XML)."""
    last = path.rstrip("/").rpartition("/")[2]
    _, dot, suffix = last.rpartition(".")
    if not dot:
        return None
    try:
        return Format(suffix)
    except ValueError:
        return None
