"""Resident access over in-memory ports: a code reaches a contact on file and opens that resident's requests only;
the answers and their timing say nothing about who is on file; limits per contact and per code stop guessing."""

import time
from datetime import UTC, datetime

import pytest
from civicloop_events import PersonalData
from civicloop_events.payloads import RequestStatus
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.resident_access import parse_contact
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.resident_access import (
    CodesUnavailable,
    InvalidCode,
    InvalidResidentContact,
    NotSignedIn,
    TooManyCodeAttempts,
)
from civicloop_intake.service_layer.track import RequestNotFound
from intake_fakes import FakeCatalogue, FakeTrackAttempts, FakeTrackingView, FakeVault
from resident_fakes import SentCodes, resident_access

PHONE = "(202) 555-0143"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
async def world():
    """Ana (a phone) has two requests; Ben (an e-mail) one."""
    vault, tracking = FakeVault(), FakeTrackingView()
    catalogue = FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True))
    ana = await vault.seal(PersonalData(phone="+12025550143"))
    ben = await vault.seal(PersonalData(email="ben@example.org"))
    for number, sealed, day in (("0011-1ABC", ana, 1), ("0022-2ABC", ana, 2), ("0033-3ABC", ben, 3)):
        at = T0.replace(day=T0.day + day)
        tracking.rows[number] = TrackedRequest(
            number, "demo", "pothole", "Hole", RequestStatus.open, at, at, contact=sealed
        )
    access, directory, sender, clock = resident_access(tracking, catalogue)
    directory.by_contact[parse_contact(PHONE, default_region="US")] = ana.resident_id
    directory.by_contact[parse_contact("ben@example.org", default_region="US")] = ben.resident_id
    return access, directory, sender, clock, ana.resident_id


async def signed_in(access, sender, contact=PHONE) -> str:
    await access.send_code(contact)
    return (await access.open_session(contact, sender.sent[-1].code)).token


async def test_a_code_sent_to_the_contact_on_file_opens_that_residents_requests(world):
    access, _, sender, _, _ = world
    await access.send_code("+1 202 555 0143")
    [message] = sender.sent
    assert (
        message.to.value == "+12025550143"
        and "555" not in repr(message)
        and message.code not in repr(message)
    )
    opened = await access.open_session(PHONE, message.code)
    mine = await access.list_requests(opened.token)
    assert [s.request.request_number for s in mine] == ["0022-2ABC", "0011-1ABC"]  # the latest first
    assert {s.service_name for s in mine} == {"Pothole"}
    view = await access.get_request(opened.token, "0011 1abc")  # read the way people type it
    assert view.request.request_number == "0011-1ABC" and view.service_name == "Pothole"
    with pytest.raises(RequestNotFound):
        await access.get_request(opened.token, "0033-3ABC")  # Ben's
    with pytest.raises(RequestNotFound):
        await access.get_request(opened.token, "not a number")


async def test_a_code_is_used_once(world):
    access, _, sender, _, _ = world
    await access.send_code(PHONE)
    code = sender.sent[-1].code
    await access.open_session(PHONE, code)
    with pytest.raises(InvalidCode):
        await access.open_session(PHONE, code)


async def test_a_new_code_replaces_the_earlier_one(world):
    access, _, sender, _, _ = world
    await access.send_code(PHONE)
    await access.send_code(PHONE)
    first, second = (m.code for m in sender.sent)
    if first != second:
        with pytest.raises(InvalidCode):
            await access.open_session(PHONE, first)
    assert (await access.open_session(PHONE, second)).token


async def test_a_code_expires(world):
    access, _, sender, clock, _ = world
    await access.send_code(PHONE)
    clock.advance(minutes=10)
    with pytest.raises(InvalidCode):
        await access.open_session(PHONE, sender.sent[-1].code)


async def test_an_unknown_contact_gets_the_same_answer_at_the_same_moment(world):
    access, _, sender, _, _ = world
    timings = {}
    for contact in (PHONE, "(202) 555-0199", "nobody@example.org"):
        started = time.monotonic()
        assert await access.send_code(contact) is None
        timings[contact] = time.monotonic() - started
    assert len(sender.sent) == 1  # only the contact on file
    assert all(0.1 <= t < 0.6 for t in timings.values()), timings


async def test_a_failing_sender_changes_nothing_in_the_answer(world):
    access, *_ = world
    access.sender = SentCodes(failing=True)
    started = time.monotonic()
    assert await access.send_code(PHONE) is None
    assert 0.1 <= time.monotonic() - started < 0.6


async def test_no_sender_means_codes_are_unavailable(world):
    access, *_ = world
    access.sender = None
    with pytest.raises(CodesUnavailable):
        await access.send_code(PHONE)


async def test_a_malformed_contact_is_refused(world):
    access, *_ = world
    with pytest.raises(InvalidResidentContact):
        await access.send_code("hello")
    with pytest.raises(InvalidCode):
        await access.open_session("hello", "123456")


async def test_every_failed_check_is_one_answer_at_the_floor(world):
    access, _, sender, _, _ = world
    await access.send_code(PHONE)
    right = sender.sent[-1].code
    wrong = "000000" if right != "000000" else "111111"
    for contact, code in ((PHONE, wrong), ("(202) 555-0199", wrong), ("nobody@example.org", right)):
        started = time.monotonic()
        with pytest.raises(InvalidCode):
            await access.open_session(contact, code)
        assert 0.1 <= time.monotonic() - started < 0.6


async def test_guessing_a_code_ends_it_after_five_wrong_tries(world):
    access, _, sender, _, _ = world
    access.answer_floor_s = 0
    await access.send_code(PHONE)
    right = sender.sent[-1].code
    wrongs = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 6)]
    for guess in wrongs:
        with pytest.raises(InvalidCode):
            await access.open_session(PHONE, guess)
    with pytest.raises(InvalidCode):
        await access.open_session(PHONE, right)  # too late: the code died with the fifth wrong try


async def test_per_contact_limits_stop_asking_and_guessing(world):
    access, *_ = world
    access.answer_floor_s = 0
    for _ in range(3):
        await access.send_code(PHONE)
    with pytest.raises(TooManyCodeAttempts) as refused:
        await access.send_code("+12025550143")  # the same contact in another notation
    assert refused.value.retry_after_s == 60
    # Unknown contacts count the same: a refusal says nothing about who is on file.
    for _ in range(3):
        await access.send_code("(202) 555-0199")
    with pytest.raises(TooManyCodeAttempts):
        await access.send_code("(202) 555-0199")

    access.code_checks = FakeTrackAttempts(max_attempts=2)
    for _ in range(2):
        with pytest.raises(InvalidCode):
            await access.open_session("(202) 555-0199", "123456")
    with pytest.raises(TooManyCodeAttempts):
        await access.open_session("(202) 555-0199", "123456")


async def test_a_right_check_is_handed_back(world):
    access, _, sender, _, _ = world
    access.code_checks = FakeTrackAttempts(max_attempts=1)
    for _ in range(3):
        await signed_in(access, sender)  # each check right at once: handed back, never refused


async def test_sessions_end_when_they_expire_when_closed_and_when_the_resident_is_erased(world):
    access, directory, sender, clock, ana = world
    token = await signed_in(access, sender)
    clock.advance(minutes=59)
    assert await access.resident_of(token) == ana
    clock.advance(minutes=1)
    with pytest.raises(NotSignedIn):
        await access.resident_of(token)

    token = await signed_in(access, sender)
    await access.close_session(token)
    with pytest.raises(NotSignedIn):
        await access.list_requests(token)

    token = await signed_in(access, sender)
    directory.erased.add(ana)
    with pytest.raises(NotSignedIn):
        await access.list_requests(token)
    with pytest.raises(NotSignedIn):
        await access.resident_of("a token never given")


async def test_an_erased_resident_gets_no_code(world):
    access, directory, sender, _, ana = world
    directory.erased.add(ana)
    await access.send_code(PHONE)
    assert sender.sent == []
