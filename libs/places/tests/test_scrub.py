"""The public text scrub: no phone, email or house number survives it."""

from __future__ import annotations

import pytest
from civicloop_places.scrub import EMAIL_MARK, PHONE_MARK, scrub, scrub_contacts
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("call me on 410-555-0134 please", f"call me on {PHONE_MARK} please"),
        ("(410) 555 0134", PHONE_MARK),
        ("+1 410.555.0134", PHONE_MARK),
        ("ring +44 20 7946 0958 after six", f"ring {PHONE_MARK} after six"),
        ("0049 30 901820", PHONE_MARK),
        ("write to jane.doe+311@example.org.", f"write to {EMAIL_MARK}."),
        ("outside 1234 Main St, by the bins", "outside 1200 block of Main St, by the bins"),
        ("pothole at 12B N Elm Street", "pothole at 0 block of N Elm Street"),
        ("the 1200 block of Main St", "the 1200 block of Main St"),
        ("3 cones by the kerb", "3 cones by the kerb"),
        ("streetlight 42 is out", "streetlight 42 is out"),
        ("Crew 7 is on the way", "Crew 7 is on the way"),
        ("3 cones on Main St", "3 cones on Main St"),
        ("Cuadrilla 2 en la Calle", "Cuadrilla 2 en la Calle"),
        ("12 de la Calle Mayor", "12 de la Calle Mayor"),
        ("", ""),
        (None, None),
    ],
)
def test_scrub_removes_phones_emails_and_house_numbers(text: str | None, shown: str | None) -> None:
    assert scrub(text) == shown


_words = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.!?", min_size=0, max_size=12), max_size=6
).map(" ".join)
_digit = st.sampled_from("0123456789")


@st.composite
def us_phones(draw: st.DrawFn) -> str:
    area, exchange, line = (draw(st.text(_digit, min_size=n, max_size=n)) for n in (3, 3, 4))
    shape = draw(
        st.sampled_from(
            [
                "{a}-{e}-{l}",
                "({a}) {e}-{l}",
                "{a}.{e}.{l}",
                "{a} {e} {l}",
                "{a}{e}{l}",
                "+1 {a} {e} {l}",
                "1-{a}-{e}-{l}",
            ]
        )
    )
    return shape.format(a=area, e=exchange, l=line)


@st.composite
def international_phones(draw: st.DrawFn) -> str:
    country = draw(st.integers(min_value=1, max_value=999))
    groups = draw(st.lists(st.text(_digit, min_size=2, max_size=4), min_size=2, max_size=4))
    prefix = draw(st.sampled_from(["+", "00"]))
    separator = draw(st.sampled_from([" ", "-", ".", ""]))
    number = separator.join(groups)
    if sum(c.isdigit() for c in number) + len(str(country)) < 7:
        number += separator + "5550"
    return f"{prefix}{country} {number}"


emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,15}", fullmatch=True),
    st.sampled_from(["org", "com", "gov", "co.uk"]),
)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@given(before=_words, phone=st.one_of(us_phones(), international_phones()), after=_words)
def test_no_phone_survives(before: str, phone: str, after: str) -> None:
    shown = scrub(f"{before} {phone} {after}")
    assert shown is not None
    assert _digits(phone) not in _digits(shown)


@given(before=_words, email=emails, after=_words)
def test_no_email_survives(before: str, email: str, after: str) -> None:
    shown = scrub(f"{before} {email} {after}")
    assert shown is not None
    assert email not in shown and "@" not in shown


@given(
    before=_words,
    number=st.integers(min_value=1, max_value=99999).filter(lambda n: n % 100),
    street=st.sampled_from(["Main St", "N Calvert Street", "Old Frederick Rd", "W Bellevue Ave"]),
)
def test_no_house_number_survives(before: str, number: int, street: str) -> None:
    shown = scrub(f"{before} {number} {street}")
    assert shown is not None
    assert f"{number // 100 * 100} block of {street}" in shown
    assert str(number) not in shown.replace(f"{number // 100 * 100} block", "")


@given(st.text(max_size=200))
def test_scrub_is_idempotent(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once


@pytest.mark.parametrize("token", ["2962788ca4", "a1234567", "ab12345678cd", "[2962788ca4]"])
def test_digits_glued_to_letters_are_no_phone(token: str) -> None:
    """An id or a hash in a text ("Address check [2962788ca4]") is kept: a phone stands apart from letters."""
    assert scrub_contacts(f"Check {token} now") == f"Check {token} now"


@pytest.mark.parametrize("phone", ["410-555-0134", "(410) 555 0134", "+1 213 555 0185", "2135550185"])
def test_a_phone_after_punctuation_is_still_a_phone(phone: str) -> None:
    assert scrub_contacts(f"tel:{phone}; or [{phone}]") == "tel:[phone removed]; or [[phone removed]]"
