import json
import uuid

import pytest
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable, new_key, seal, unseal
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=50, deadline=None)
@given(
    name=st.none() | st.text(max_size=50),
    email=st.none() | st.emails(),
    phone=st.none() | st.from_regex(r"\A\+1[0-9]{10}\Z"),
)
def test_seal_then_unseal_round_trips_and_hides_the_clear_text(name, email, phone):
    data = PersonalData(name=name, email=email, phone=phone)
    rid, key = uuid.uuid4(), new_key()
    sealed = seal(data, resident_id=rid, key=key)
    wire = sealed.model_dump_json()
    # The field names are the schema's, not data: a name such as "resi" may appear in "resident_id".
    values = " ".join(str(v) for v in json.loads(wire).values())
    for clear in (name, email, phone):
        if clear and len(clear) >= 4:
            assert clear not in values
    assert unseal(sealed, key=key) == data


def test_erased_key_makes_the_person_unreadable():
    sealed = seal(PersonalData(phone="+15551234567"), resident_id=uuid.uuid4(), key=new_key())
    with pytest.raises(PersonalDataUnreadable):
        unseal(sealed, key=None)
    with pytest.raises(PersonalDataUnreadable):
        unseal(sealed, key=new_key())


def test_sealed_data_is_bound_to_its_resident():
    key = new_key()
    sealed = seal(PersonalData(email="a@example.org"), resident_id=uuid.uuid4(), key=key)
    moved = sealed.model_copy(update={"resident_id": uuid.uuid4()})
    with pytest.raises(PersonalDataUnreadable):
        unseal(moved, key=key)


def test_repr_never_shows_personal_data():
    data = PersonalData(name="Ada Lovelace", phone="+15551234567")
    assert "Ada" not in repr(data) and "555" not in str(data)
