"""Handing a code to its channel: a kind of contact no channel reaches is answered 503 for that kind only; a slow
channel never holds the answer past its floor (the code still goes); the resident's language reaches the sender."""

import asyncio
import time
from uuid import uuid4

import httpx
import pytest
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.resident_access import ContactKind, parse_contact
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.service_layer.resident_access import CodesUnavailable
from civicloop_intake.service_layer.resident_ports import AccessCodeMessage, AccessCodeSender
from civicloop_intake.settings import Environment, IntakeSettings
from intake_fakes import FakeCatalogue, FakeTrackingView, intake_on_fakes
from resident_fakes import resident_access

PHONE, EMAIL = "(202) 555-0143", "ana@example.org"


class HeldCodes(AccessCodeSender):
    """Reaches only `kinds`; each send waits for `release` (a provider taking its time)."""

    def __init__(self, kinds: set[ContactKind]) -> None:
        self.kinds = kinds
        self.release = asyncio.Event()
        self.release.set()
        self.sent: list[AccessCodeMessage] = []

    def delivers(self, kind: ContactKind) -> bool:
        return kind in self.kinds

    async def send(self, message: AccessCodeMessage) -> None:
        await self.release.wait()
        self.sent.append(message)


def on_file(directory, *contacts: str) -> None:
    resident = uuid4()
    for contact in contacts:
        directory.by_contact[parse_contact(contact, default_region="US")] = resident


async def test_a_kind_of_contact_no_channel_reaches_is_unavailable_and_the_other_kind_is_served():
    sender = HeldCodes({ContactKind.phone})
    access, directory, _, _ = resident_access(
        FakeTrackingView(), FakeCatalogue(), sender=sender, answer_floor_s=0
    )
    on_file(directory, PHONE, EMAIL)
    with pytest.raises(CodesUnavailable):
        await access.send_code(EMAIL)
    await access.send_code(PHONE)
    assert [m.to.kind for m in sender.sent] == [ContactKind.phone]


async def test_a_slow_channel_does_not_hold_the_answer_past_its_floor_and_the_code_still_goes():
    sender = HeldCodes({ContactKind.phone})
    access, directory, _, _ = resident_access(
        FakeTrackingView(), FakeCatalogue(), sender=sender, answer_floor_s=0.2
    )
    on_file(directory, PHONE)
    sender.release.clear()
    started = time.monotonic()
    await access.send_code(PHONE)
    answered_after = time.monotonic() - started
    assert (
        0.2 <= answered_after < 1.0 and sender.sent == []
    )  # answered at the floor, the code still on its way
    sender.release.set()
    await access.drain()
    assert [m.to.value for m in sender.sent] == ["+12025550143"]


@pytest.mark.parametrize(
    ("body", "headers", "language"),
    [
        ({}, {}, "en"),
        ({}, {"Accept-Language": "es-US,es;q=0.9,en;q=0.8"}, "es"),
        ({"language": "es"}, {}, "es"),
        ({"language": "en"}, {"Accept-Language": "es"}, "en"),
        ({"language": "fr"}, {}, "en"),
    ],
)
async def test_the_residents_language_reaches_the_sender(body, headers, language):
    catalogue = FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True))
    intake = await intake_on_fakes(catalogue)
    intake.residents, directory, sender, _ = resident_access(FakeTrackingView(), catalogue, answer_floor_s=0)
    on_file(directory, PHONE)
    app = create_app(IntakeSettings(env=Environment.test))
    app.dependency_overrides[get_intake] = lambda: intake
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        r = await c.post("/api/v1/residents/codes", json={"contact": PHONE, **body}, headers=headers)
        assert r.status_code == 202, r.text
        refused = await c.post("/api/v1/residents/codes", json={"contact": PHONE, "language": "Spanish!"})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "language"]
    assert [m.language for m in sender.sent] == [language]
