import re

import pytest
from civicloop_events import request_numbers as rn
from hypothesis import given
from hypothesis import strategies as st

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
values = st.integers(min_value=0, max_value=(1 << 40) - 1)


def test_alphabet_is_crockford_base32():
    assert len(rn.ALPHABET) == len(set(rn.ALPHABET)) == 32
    assert not set("ILOU") & set(rn.ALPHABET)


@given(values)
def test_every_40_bit_value_formats_as_two_groups_of_four(value):
    number = rn.new_request_number(randbits=lambda bits: value)
    assert FORMAT.match(number), number


@given(values)
def test_encode_decode_round_trip(value):
    assert rn.decode(rn.encode(value)) == value


@given(values, st.data())
def test_parse_accepts_what_a_resident_might_type(value, data):
    number = rn.encode(value)
    typed = []
    for ch in number.replace("-", ""):
        choices = {"0": ["0", "O", "o"], "1": ["1", "I", "i", "L", "l"]}.get(ch, [ch, ch.lower()])
        typed.append(data.draw(st.sampled_from(choices)))
    separator = data.draw(st.sampled_from(["", "-", " ", " - "]))
    text = "".join(typed[:4]) + separator + "".join(typed[4:])
    assert rn.parse(text) == number


def test_parse_maps_crockford_aliases():
    assert rn.parse("oo1l-iabc") == "0011-1ABC"


@pytest.mark.parametrize(
    "text", ["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU", "ABCD_EFGH", "ABCD-EFG!", "ÀBCD-EFGH"]
)
def test_parse_rejects_what_cannot_be_a_number(text):
    with pytest.raises(rn.InvalidRequestNumber):
        rn.parse(text)


def test_encode_rejects_values_outside_40_bits():
    with pytest.raises(ValueError, match="holds 40 bits"):
        rn.encode(1 << 40)
    with pytest.raises(ValueError, match="holds 40 bits"):
        rn.encode(-1)


def test_draws_come_from_a_csprng_and_do_not_repeat():
    drawn = {rn.new_request_number() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(FORMAT.match(n) for n in drawn)
