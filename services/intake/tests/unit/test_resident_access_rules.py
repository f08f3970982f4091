"""The pure rules of resident access: contacts read as intake stores them, codes kept as keyed digests, used once,
short-lived, ended by wrong tries; sessions kept as digests."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from civicloop_intake.domain.resident_access import (
    CODE_DIGITS,
    CodeCheck,
    ContactKind,
    InvalidContact,
    check_code,
    contact_digest,
    issue_code,
    new_session,
    parse_contact,
    token_digest,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def test_contacts_are_read_as_intake_stores_them():
    assert parse_contact(" (202) 555-0143 ", default_region="US").value == "+12025550143"
    assert parse_contact("+1 202 555 0143", default_region="US").kind is ContactKind.phone
    email = parse_contact("Ana@Example.ORG", default_region="US")
    assert (email.kind, email.value) == (ContactKind.email, "Ana@example.org")
    for bad in ("ana@", "12", "not a contact"):
        with pytest.raises(InvalidContact):
            parse_contact(bad, default_region="US")


def test_a_contact_never_shows_in_its_repr_and_its_digest_is_keyed():
    contact = parse_contact("2025550143", default_region="US")
    assert "555" not in repr(contact)
    assert contact_digest(contact, key=KEY) != contact_digest(contact, key=b"o" * 32)
    same_in_other_notation = parse_contact("+1 (202) 555-0143", default_region="US")
    assert contact_digest(contact, key=KEY) == contact_digest(same_in_other_notation, key=KEY)


def issued():
    resident = uuid4()
    code, pending = issue_code(b"contact", resident, key=KEY, now=NOW, ttl=TTL)
    return resident, code, pending


def test_a_code_is_six_digits_kept_only_as_a_keyed_digest():
    _, code, pending = issued()
    assert len(code) == CODE_DIGITS and code.isdigit()
    assert code.encode() not in pending.code_digest and pending.expires_at == NOW + TTL


def test_the_right_code_is_accepted_once_for_its_resident():
    resident, code, pending = issued()
    verdict = check_code(pending, code, key=KEY, now=NOW, max_wrong_tries=5)
    assert verdict.check is CodeCheck.accepted and verdict.resident_id == resident and verdict.kept is None
    # Accepted means deleted by the store; a second check finds nothing.
    assert check_code(None, code, key=KEY, now=NOW, max_wrong_tries=5).check is CodeCheck.spent


def test_an_expired_code_is_spent_even_when_right():
    _, code, pending = issued()
    verdict = check_code(pending, code, key=KEY, now=NOW + TTL, max_wrong_tries=5)
    assert verdict.check is CodeCheck.spent


def test_wrong_tries_are_counted_and_the_last_one_ends_the_code():
    _, code, pending = issued()
    wrong = "000000" if code != "000000" else "111111"
    for tries in range(1, 3):
        verdict = check_code(pending, wrong, key=KEY, now=NOW, max_wrong_tries=3)
        assert verdict.check is CodeCheck.wrong and verdict.kept is not None
        pending = verdict.kept
        assert pending.wrong_tries == tries
    assert check_code(pending, wrong, key=KEY, now=NOW, max_wrong_tries=3).check is CodeCheck.spent
    # Even the right code cannot follow once the tries are used up.
    used_up = pending.__class__(**{**pending.__dict__, "wrong_tries": 3})
    assert check_code(used_up, code, key=KEY, now=NOW, max_wrong_tries=3).check is CodeCheck.spent


def test_a_code_for_one_contact_does_not_open_another():
    resident = uuid4()
    code, pending = issue_code(b"one contact", resident, key=KEY, now=NOW, ttl=TTL)
    other = pending.__class__(**{**pending.__dict__, "contact_digest": b"another contact"})
    assert check_code(other, code, key=KEY, now=NOW, max_wrong_tries=5).check is CodeCheck.wrong


def test_a_session_token_is_random_and_kept_as_its_digest():
    resident = uuid4()
    token, session = new_session(resident, now=NOW, ttl=timedelta(hours=1))
    other, _ = new_session(resident, now=NOW, ttl=timedelta(hours=1))
    assert token != other and len(token) >= 43
    assert session.token_digest == token_digest(token) and token.encode() not in session.token_digest
    assert session.expires_at == NOW + timedelta(hours=1) and session.resident_id == resident
