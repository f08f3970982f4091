"""A resident's photo is kept upright, bounded, and without any metadata (no GPS, no camera)."""

from __future__ import annotations

import io

import pytest
from civicloop_intake.pages.photos import MAX_SIDE, PhotoRefused, cleaned
from civicloop_testing.photo_samples import has_metadata, phone_photo
from PIL import Image


def test_a_phone_photo_loses_its_exif_and_gps_and_is_turned_upright_and_bounded():
    original = phone_photo(2400, 1200, orientation=6)
    assert has_metadata(original)  # the sample does carry what must go

    photo = cleaned(original)

    assert not has_metadata(photo.jpeg)
    with Image.open(io.BytesIO(photo.jpeg)) as image:
        assert image.format == "JPEG"
        # Orientation 6 turns the 2400x1200 landscape into a portrait: red on top, blue below.
        assert (image.width, image.height) == (photo.width, photo.height) == (MAX_SIDE // 2, MAX_SIDE)
        top, bottom = (
            image.getpixel((image.width // 2, 10)),
            image.getpixel((image.width // 2, image.height - 10)),
        )
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_a_small_photo_keeps_its_size():
    photo = cleaned(phone_photo(640, 480, orientation=1))
    assert (photo.width, photo.height) == (640, 480)


def test_a_transparent_png_is_flattened_on_white():
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    photo = cleaned(out.getvalue())
    with Image.open(io.BytesIO(photo.jpeg)) as jpeg:
        assert jpeg.getpixel((5, 5))[0] > 240


@pytest.mark.parametrize("upload", [b"", b"not an image", b"\xff\xd8\xff\xe0 broken jpeg"])
def test_what_is_not_a_photo_is_refused(upload):
    with pytest.raises(PhotoRefused):
        cleaned(upload)
