"""QR codes as SVG (`segno`), with the limits a public route needs.

What a code may hold: plain text, or an http(s) URL of the deployment's own public base. A URL of anywhere else is
refused, so the county's QR route cannot be used to dress a phishing link in the county's name. Anything that
reads as a URL (`scheme:...`) is judged as one, so `javascript:`, `tel:` or `data:` never pass as "text".
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import segno

QR_DATA_MAX = 512
"""Characters a code may hold: a long link with its query fits; a QR code at this length is still easily scanned."""
QR_SIZE_MIN, QR_SIZE_MAX, QR_SIZE_DEFAULT = 64, 1024, 256
"""The SVG's width and height in pixels (it scales without loss; the size is what a page lays out)."""
QR_PATH = "/api/qr"
QR_QUIET_ZONE = 4  # modules of margin ISO/IEC 18004 asks for

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class QrRefused(ValueError):
    """Why the data or size cannot make a code; the message is safe to show (it never repeats the data)."""

    def __init__(self, message: str, *, field: str = "data") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class QrRequest:
    data: str
    size: int = QR_SIZE_DEFAULT


def origin_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def checked(data: str, size: int, *, own_base: str) -> QrRequest:
    """The request if a code may be made of it: text or an http(s) URL under `own_base` (the public base URL)."""
    if not data:
        raise QrRefused("data is empty")
    if len(data) > QR_DATA_MAX:
        raise QrRefused(f"data is longer than {QR_DATA_MAX} characters")
    if not QR_SIZE_MIN <= size <= QR_SIZE_MAX:
        raise QrRefused(f"size must be between {QR_SIZE_MIN} and {QR_SIZE_MAX} pixels", field="size")
    if _SCHEME.match(data):
        parts = urlsplit(data)
        if parts.scheme.lower() not in ("http", "https"):
            raise QrRefused("only http(s) links can be encoded")
        if parts.username or parts.password:
            raise QrRefused("links with credentials cannot be encoded")
        base_path = urlsplit(own_base).path.rstrip("/")
        under_base = not base_path or parts.path == base_path or parts.path.startswith(base_path + "/")
        if origin_of(data) != origin_of(own_base) or not under_base:
            raise QrRefused("only links to this service's own site can be encoded")
    elif any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in data):
        raise QrRefused("data holds control characters")
    return QrRequest(data=data, size=size)


def qr_svg(request: QrRequest, *, title: str | None = None) -> str:
    """The code as a standalone SVG `size` pixels square, black on white, with its quiet zone; its viewBox is in
    modules, so it stays crisp however it is scaled or printed. Error correction M (15 %), raised by segno when the
    data leaves room."""
    out = io.BytesIO()
    segno.make(request.data, error="m", micro=False).save(
        out,
        kind="svg",
        scale=1,
        border=QR_QUIET_ZONE,
        dark="#000",
        light="#fff",
        xmldecl=False,
        title=title,
        svgclass=None,
        lineclass=None,
        omitsize=True,
        nl=False,
    )
    svg = out.getvalue().decode("utf-8")
    return svg.replace("<svg ", f'<svg width="{request.size}" height="{request.size}" role="img" ', 1)


def qr_modules(data: str) -> list[list[bool]]:
    """The code's dark modules, row by row, quiet zone included: for drawing it into another document."""
    return [
        [bool(m) for m in row]
        for row in segno.make(data, error="m", micro=False).matrix_iter(scale=1, border=QR_QUIET_ZONE)
    ]


def qr_link(data: str, size: int = QR_SIZE_DEFAULT) -> str:
    """The path of `data`'s QR code on intake (`GET /api/qr`)."""
    return f"{QR_PATH}?{urlencode({'data': data, 'size': size})}"


def tracking_page_link(base_url: str, number: str) -> str:
    """The residents' tracking page of a request on the public site, its number filled in (the phone is theirs
    to type: a code on a receipt or a screen must not open the request to whoever sees it)."""
    return f"{base_url.rstrip('/')}/track?{urlencode({'number': number})}"
