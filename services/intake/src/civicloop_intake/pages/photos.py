"""A resident's photo made safe to keep and to send on: turned upright, at most `MAX_SIDE` pixels on its longer
side, re-encoded as a JPEG that carries no metadata at all (no EXIF, so no GPS position, camera or time)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = (
    1600  # enough for a crew to see the problem; a phone's 4000-pixel photo shrinks to a few hundred kB
)
MAX_PIXELS = 50_000_000  # a larger image is refused before it is decoded (a "decompression bomb")
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
JPEG_QUALITY = 82


class PhotoRefused(ValueError):
    """The upload is no photo we can read; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    jpeg: bytes
    width: int
    height: int


def cleaned(upload: bytes) -> CleanPhoto:
    """The upload as an upright, bounded JPEG without metadata; `PhotoRefused` when it is not an image we read."""
    if len(upload) > MAX_UPLOAD_BYTES:
        raise PhotoRefused("the photo is too large")
    try:
        with Image.open(io.BytesIO(upload)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRefused("the photo has too many pixels")
            image.load()
            upright = ImageOps.exif_transpose(image)  # the camera's rotation applied, its tag then dropped
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as e:
        raise PhotoRefused("the file is not a photo we can read") from e
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image of the pixels only: nothing of the original's info (EXIF, XMP, ICC, comments) comes along.
    pixels = Image.new("RGB", upright.size, "white")
    if upright.mode in ("RGBA", "LA", "P", "PA"):
        with_alpha = upright.convert("RGBA")  # transparency over white, as it would print
        pixels.paste(with_alpha, mask=with_alpha.getchannel("A"))
    else:
        pixels.paste(upright.convert("RGB"))
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), pixels.width, pixels.height)
