"""A resident's own name and e-mail address are taken out of what the public reads: the description and the address
they report, and staff's public comments and notes."""

from __future__ import annotations

from civicloop_events.own_words import (
    NAME_REMOVED,
    address_without_own_contact,
    description_without_own_contact,
    public_text_without_own_contact,
)
from civicloop_events.personal_data import PersonalData
from hypothesis import given
from hypothesis import strategies as st

ANA = PersonalData(name="Ana-Maria Okonkwo", email="ana.o@example.org", phone="+12025550143")


def test_the_whole_name_each_word_of_it_and_the_email_leave_the_description():
    text = "I am Ana-Maria Okonkwo (ANA.O@example.org); Mrs okonkwo next door saw it too."
    assert description_without_own_contact(text, ANA) == (
        f"I am {NAME_REMOVED} ([email removed]); Mrs {NAME_REMOVED} next door saw it too."
    )


def test_words_that_merely_contain_the_name_stay():
    assert (
        description_without_own_contact("Okonkwos' fence, Anastasia St", ANA)
        == "Okonkwos' fence, Anastasia St"
    )


def test_short_name_words_stay_as_they_are_ordinary_words():
    li = PersonalData(name="Jo Li", email=None, phone=None)
    assert (
        description_without_own_contact("Jo Li says the light is out", li)
        == f"{NAME_REMOVED} says the light is out"
    )
    assert description_without_own_contact("the li of the lamp", li) == "the li of the lamp"


def test_the_address_loses_the_whole_name_only():
    main = PersonalData(name="Ana Main", email="ana@example.org", phone=None)
    assert (
        address_without_own_contact("12 Main St, ring Ana Main", main) == f"12 Main St, ring {NAME_REMOVED}"
    )
    assert address_without_own_contact("12 Main St", main) == "12 Main St"
    assert address_without_own_contact(None, main) is None


def test_without_a_contact_nothing_changes():
    assert description_without_own_contact("Ana-Maria Okonkwo", None) == "Ana-Maria Okonkwo"
    assert address_without_own_contact("1 Main St", None) == "1 Main St"


names = st.from_regex(r"[A-Z][a-z]{2,9} [A-Z][a-z]{2,12}", fullmatch=True)


@given(name=names, before=st.text(max_size=40), after=st.text(max_size=40))
def test_a_name_typed_anywhere_in_the_description_is_gone(name: str, before: str, after: str):
    contact = PersonalData(name=name, email=None, phone=None)
    cleaned = description_without_own_contact(f"{before} {name} {after}", contact)
    for word in name.split():
        assert word.lower() not in cleaned.lower().replace(NAME_REMOVED.lower(), "") or word.lower() in (
            f"{before} {after}".lower()
        )


def test_staff_public_words_lose_the_residents_name_and_internal_ones_keep_it():
    from civicloop_events.payloads import CommentAdded, StatusChanged

    public = CommentAdded(text="Told Ana-Maria Okonkwo we come Tuesday", visibility="public")
    internal = CommentAdded(text="Okonkwo called twice", visibility="internal")
    closed = StatusChanged(status="closed", previous_status="open", public_note="Fixed, thanks Mrs Okonkwo")
    assert public_text_without_own_contact(public, ANA).text == f"Told {NAME_REMOVED} we come Tuesday"
    assert public_text_without_own_contact(internal, ANA) is internal
    assert public_text_without_own_contact(closed, ANA).public_note == f"Fixed, thanks Mrs {NAME_REMOVED}"
    assert public_text_without_own_contact(closed, None) is closed
