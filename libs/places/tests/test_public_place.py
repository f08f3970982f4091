"""Public places: block-level addresses and H3 cells never give the exact point away."""

from __future__ import annotations

import h3
import pytest
from civicloop_places import block_address, public_place
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("given_address", "shown"),
    [
        ("2111 W BELLEVUE AVE, 90026", "2100 block of W BELLEVUE AVE, 90026"),
        ("2111 W Bellevue Ave, Apt 3, 90026", "2100 block of W Bellevue Ave, 90026"),
        ("45 Elm St #2", "0 block of Elm St"),
        ("12-14 Main Street", "0 block of Main Street"),
        ("8TH AVE and JUDAH ST", "8TH AVE and JUDAH ST"),
        ("Main St & 5th Ave, Springfield", "Main St & 5th Ave, Springfield"),
        ("outside my house, I am Jane and my car", None),
        ("my house and the bins", None),
        ("", None),
        (None, None),
    ],
)
def test_block_address_hides_the_house_number_and_free_text(
    given_address: str | None, shown: str | None
) -> None:
    assert block_address(given_address) == shown


@given(number=st.integers(min_value=0, max_value=999_999), street=st.sampled_from(["MAIN ST", "W 3RD AVE"]))
def test_block_address_rounds_down_to_the_hundred(number: int, street: str) -> None:
    shown = block_address(f"{number} {street}")
    assert shown == f"{number // 100 * 100} block of {street}"


@given(lat=st.floats(min_value=-85, max_value=85), long=st.floats(min_value=-179.9, max_value=179.9))
def test_public_point_is_the_centre_of_the_cell_holding_the_point(lat: float, long: float) -> None:
    place = public_place(lat, long)
    assert place.h3_cell == h3.latlng_to_cell(lat, long, place.h3_resolution)
    centre = h3.cell_to_latlng(place.h3_cell)
    assert (place.lat, place.long) == (round(centre[0], 6), round(centre[1], 6))
    # Every point of a cell shows the same public point: the public point cannot be inverted to the point.
    assert h3.latlng_to_cell(place.lat, place.long, place.h3_resolution) == place.h3_cell


def test_two_neighbours_in_one_cell_show_the_same_place() -> None:
    a = public_place(34.073216645, -118.266861909, "2111 W BELLEVUE AVE")
    b = public_place(34.0732, -118.26685, "2115 W BELLEVUE AVE")
    assert (
        (a.lat, a.long, a.address)
        == (b.lat, b.long, b.address)
        == (a.lat, a.long, "2100 block of W BELLEVUE AVE")
    )
    assert (a.lat, a.long) != (34.073216645, -118.266861909)


@pytest.mark.parametrize(
    ("given_address", "shown"),
    [
        ("2111 W Bellevue Ave, ring Jane 410-555-0134, 90026", "2100 block of W Bellevue Ave, 90026"),
        ("417 Sunset Blvd, +1 213 555 0185, y0h6@example.org", "400 block of Sunset Blvd"),
        ("417 Sunset Blvd call 213.555.0185", "400 block of Sunset Blvd call [phone removed]"),
        ("Main St & 5th Ave, jane@example.org", "Main St & 5th Ave"),
        ("2111 Maple Ave, Springfield", "2100 block of Maple Ave, Springfield"),
    ],
)
def test_block_address_never_shows_a_phone_or_an_email_typed_into_it(given_address: str, shown: str) -> None:
    assert block_address(given_address) == shown
