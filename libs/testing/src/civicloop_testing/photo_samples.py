"""Photos as a phone takes them: EXIF with a GPS position, a camera, and an orientation tag."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def phone_photo(width: int = 2400, height: int = 1200, *, orientation: int = 6) -> bytes:
    """A JPEG `width` x `height` as stored (left half red, right half blue), its EXIF saying: rotate 90° clockwise
    to show (orientation 6), taken by "PhoneMaker" at 38.9N 77.0W."""
    image = Image.new("RGB", (width, height), "red")
    image.paste(Image.new("RGB", (width // 2, height), "blue"), (width // 2, 0))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (38.0, 54.0, 0.0), 3: "W", 4: (77.0, 0.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def has_metadata(jpeg: bytes) -> bool:
    with Image.open(io.BytesIO(jpeg)) as image:
        return bool(image.getexif()) or any(
            k in image.info for k in ("exif", "xmp", "icc_profile", "comment")
        )


def full_size_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A phone's full-size photo: noisy enough to weigh megabytes, with the same EXIF (rotate, camera, GPS)."""
    image = Image.merge("RGB", [Image.effect_noise((width, height), 90) for _ in range(3)])
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (38.0, 54.0, 0.0), 3: "W", 4: (77.0, 0.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()
