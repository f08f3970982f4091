"""A closing's photos on email: attached when CivicLoop serves them itself and they are small, else linked. Pure."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from civicloop_notifier.domain.texts import N_

PHOTO_LINK = N_("Photo: %(link)s")
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def every_msgid() -> list[str]:
    return [PHOTO_LINK]


def served_by_us(url: str, prefixes: Collection[str]) -> bool:
    """Whether `url` is under one of CivicLoop's own media locations (scheme, host, port and path prefix), so fetching
    it reaches nobody else; anything else is only linked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return False
    return any(_under(parts.geturl(), prefix) for prefix in prefixes)


def _under(url: str, prefix: str) -> bool:
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    return url.startswith(prefix) and "/../" not in url[len(prefix) - 1 :]


def photo_filename(position: int, content_type: str) -> str | None:
    """`photo-<n>.<ext>` for an image type mail clients show; None for anything else (then it is linked)."""
    ext = IMAGE_TYPES.get(content_type.split(";", 1)[0].strip().lower())
    return f"photo-{position}.{ext}" if ext else None
