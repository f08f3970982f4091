import asyncio
from datetime import UTC, datetime

import pytest
from civicloop_events import ServiceRequestSubmitted, encode_event, request_numbers
from civicloop_events.payloads import RequestStatus
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.domain.validation import InvalidSubmission
from civicloop_intake.service_layer.ports import EventLogUnavailable
from civicloop_intake.service_layer.submit import submit_service_request
from intake_fakes import FakeCatalogue, FakeEventLog, FakeSubmissions, FakeVault

BODY = {
    "service_code": "pothole",
    "description": "Deep hole",
    "lat": 38.9,
    "long": -77.0,
    "contact": {"name": "Ana Lopez", "phone": "(202) 555-0143"},
    "preferred_channel": "sms",
}


class World:
    def __init__(self) -> None:
        self.catalogue = FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True))
        self.submissions = FakeSubmissions()
        self.vault = FakeVault()
        self.event_log = FakeEventLog()

    async def submit(self, body=BODY, key="key-1", **ports):
        return await submit_service_request(
            SubmitServiceRequest.model_validate(body),
            idempotency_key=key,
            catalogue=self.catalogue,
            submissions=self.submissions,
            vault=self.vault,
            event_log=self.event_log,
            default_jurisdiction="demo",
            default_region="US",
            hash_key=b"0123456789abcdef",
            **ports,
        )


@pytest.fixture
def world():
    return World()


async def test_a_submission_publishes_one_event_with_the_contact_sealed(world):
    receipt = await world.submit()
    assert receipt.created
    [event] = world.event_log.events
    assert event.request_id == receipt.request_number
    assert event.jurisdiction_id == "demo" and event.source == "web"
    assert isinstance(event.payload, ServiceRequestSubmitted)
    assert (await world.vault.unseal(event.payload.contact)).phone == "+12025550143"
    assert b"Ana" not in encode_event(event) and b"2025550143" not in encode_event(event)
    assert world.submissions.rows["key-1"].published


async def test_a_retry_answers_the_same_request_without_a_second_event(world):
    first = await world.submit()
    again = await world.submit()
    assert (again.request_number, again.position, again.created) == (
        first.request_number,
        first.position,
        False,
    )
    assert len(world.event_log.events) == 1


async def test_concurrent_retries_make_one_request(world):
    receipts = await asyncio.gather(*(world.submit() for _ in range(10)))
    assert len({r.request_number for r in receipts}) == 1
    assert sum(r.created for r in receipts) == 1
    assert len(world.event_log.events) == 1


async def test_the_same_key_with_another_body_is_refused(world):
    await world.submit()
    with pytest.raises(IdempotencyKeyReused):
        await world.submit({**BODY, "description": "Another hole"})
    assert len(world.event_log.events) == 1


async def test_a_submission_the_broker_did_not_take_is_completed_by_its_retry(world):
    world.event_log.down = True
    with pytest.raises(EventLogUnavailable):
        await world.submit()
    pending = world.submissions.rows["key-1"]
    assert not pending.published and world.event_log.events == []

    world.event_log.down = False
    world.catalogue.entries.clear()  # the service was withdrawn meanwhile: the accepted submission still completes
    receipt = await world.submit()
    [event] = world.event_log.events
    assert receipt.created and receipt.request_number == pending.request_number
    assert event.event_id == pending.event_id
    assert encode_event(event).decode() == pending.event_json


async def test_a_number_already_taken_is_drawn_again(world, monkeypatch):
    world.submissions.taken_numbers.add("AAAA-AAAA")
    draws = iter(["AAAA-AAAA", "BBBB-BBBB"])
    monkeypatch.setattr(request_numbers, "draw", lambda producer, randbits=None: next(draws))
    receipt = await world.submit()
    assert receipt.request_number == "BBBB-BBBB"


async def test_an_invalid_submission_stores_and_publishes_nothing(world):
    with pytest.raises(InvalidSubmission) as err:
        await world.submit({**BODY, "service_code": "unicorn"})
    assert [e.loc for e in err.value.errors] == [("body", "service_code")]
    assert world.submissions.rows == {} and world.event_log.events == [] and world.vault.kept == {}


async def test_without_a_jurisdiction_the_default_one_is_used_and_the_key_is_per_body(world):
    await world.submit()
    other = await world.submit({**BODY, "jurisdiction_id": "demo"}, key="key-2")
    assert other.created
    assert world.submissions.rows["key-1"].body_hash == world.submissions.rows["key-2"].body_hash


async def test_numbers_are_drawn_inside_intakes_tag(world):
    receipt = await world.submit()
    assert request_numbers.producer_of(receipt.request_number) == "intake"


async def test_when_every_draw_is_taken_the_submission_is_refused_and_nothing_is_stored(world, monkeypatch):
    world.submissions.taken_numbers.add("1AAA-AAAA")
    monkeypatch.setattr(request_numbers, "draw", lambda producer, randbits=None: "1AAA-AAAA")
    with pytest.raises(request_numbers.RequestNumbersExhausted):
        await world.submit()
    assert world.submissions.rows == {} and world.event_log.events == []


async def test_a_number_a_request_on_the_log_already_has_is_drawn_again(world, monkeypatch):
    """A number made before the producer tags, by the gateway say, may lie inside intake's tag."""
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    world.submissions.on_the_log.rows["1AAA-AAAA"] = TrackedRequest(
        "1AAA-AAAA", "demo", "pothole", "hole", RequestStatus.open, t0, t0
    )
    draws = iter(["1AAA-AAAA", "1BBB-BBBB"])
    monkeypatch.setattr(request_numbers, "draw", lambda producer, randbits=None: next(draws))
    receipt = await world.submit()
    assert receipt.request_number == "1BBB-BBBB"


NO_CONTACT = {k: v for k, v in BODY.items() if k not in ("contact", "preferred_channel")}


async def test_a_retry_seals_the_contact_once(world):
    await world.submit()
    await world.submit()
    assert len(world.vault.kept) == 1


async def test_without_a_contact_a_retry_answers_the_same_request_from_the_insert(world):
    first = await world.submit(NO_CONTACT)
    again = await world.submit(NO_CONTACT)
    assert (again.request_number, again.position, again.created) == (
        first.request_number,
        first.position,
        False,
    )
    assert len(world.event_log.events) == 1 and world.vault.kept == {}
    with pytest.raises(IdempotencyKeyReused):
        await world.submit({**NO_CONTACT, "description": "Another hole"})


async def test_without_a_contact_a_retry_after_the_service_was_withdrawn_is_answered_as_before(world):
    first = await world.submit(NO_CONTACT)
    world.catalogue.entries.clear()
    again = await world.submit(NO_CONTACT)
    assert again.request_number == first.request_number and not again.created
    with pytest.raises(InvalidSubmission):
        await world.submit(NO_CONTACT, key="key-2")  # a new submission is refused


async def test_the_residents_language_travels_with_the_submission(world):
    await world.submit({**BODY, "language": "es"})
    [event] = world.event_log.events
    assert event.payload.language == "es"


async def test_a_submission_without_a_language_is_in_english(world):
    await world.submit()
    [event] = world.event_log.events
    assert event.payload.language == "en"
