"""Staff events carry who and what changed, never a credential or a clear email."""

import json
from pathlib import Path

import pytest
from civicloop_events import REGISTRY, decode_event, encode_event
from civicloop_events.payloads import StaffCreated, StaffRole
from civicloop_events.personal_data import PersonalDataUnreadable, unseal

GOLDEN = Path(__file__).parents[1] / "golden"
STAFF_TYPES = sorted(t for t, _ in REGISTRY.models if t.startswith("staff."))
CLEAR_WORDS = ("password", "hash", "secret", "token", "code", "otp", "email", "phone", "name")
FIXTURE_KEY = bytes(range(32))  # the public key the golden fixture was sealed with


def test_there_are_staff_types():
    assert {"staff.created", "staff.disabled", "staff.password.set", "staff.totp.enrolled"} <= set(
        STAFF_TYPES
    )


@pytest.mark.parametrize("event_type", STAFF_TYPES)
def test_no_staff_payload_has_a_field_for_a_credential_or_clear_contact(event_type: str):
    model = REGISTRY.models[(event_type, REGISTRY.latest_version(event_type))]
    for field in model.model_fields:
        assert field == "recovery_codes_issued" or not any(w in field for w in CLEAR_WORDS), field


def test_the_created_event_holds_the_email_only_sealed():
    raw = (GOLDEN / "staff.created.v1.json").read_text()
    assert "agent.one@demo.example" not in raw and "Demo Agent" not in raw
    event = decode_event(raw.encode())
    assert isinstance(event.payload, StaffCreated)
    assert event.payload.roles == [StaffRole.agent]
    # The key belongs to the staff member: the sealed blob names its owner, and opens only with that key.
    assert event.payload.contact.resident_id == event.payload.staff_id
    assert unseal(event.payload.contact, key=FIXTURE_KEY).email == "agent.one@demo.example"
    with pytest.raises(PersonalDataUnreadable):
        unseal(event.payload.contact, key=None)


def test_a_created_event_without_a_role_is_refused():
    raw = json.loads((GOLDEN / "staff.created.v1.json").read_text())
    raw["payload"]["roles"] = []
    with pytest.raises(ValueError, match="roles"):
        decode_event(json.dumps(raw).encode())


def test_staff_events_round_trip():
    for event_type in STAFF_TYPES:
        event = decode_event((GOLDEN / f"{event_type}.v1.json").read_bytes())
        assert decode_event(encode_event(event)) == event
