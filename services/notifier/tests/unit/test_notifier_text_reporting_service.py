"""`TextReporting` with in-memory peers: what it hands geo and intake, and what it keeps (IO-free)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_events import Event
from civicloop_events.payloads import NotificationChannel
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain.text_report import Conversation, Place, ReportableService, SubmissionAnswer
from civicloop_notifier.service_layer.text_reporting import TextReport, TextReporting, sender_digest

PEPPER = b"unit-pepper-0123456789abcdef0123"
MAIN = Place(address="12 Main St", lat=40.0, long=-75.0, confidence=1.0)


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[bytes, Conversation] = {}

    async def conversation(self, sender_digest: bytes, *, lock: bool) -> Conversation | None:
        return self.rows.get(sender_digest)

    async def save_conversation(self, sender_digest: bytes, conversation: Conversation) -> None:
        self.rows[sender_digest] = conversation

    async def reportable_services(self, jurisdiction_id: str) -> list[ReportableService]:
        return [ReportableService("graffiti", "Graffiti", ("tag",))]

    async def define_service(self, event: Event[Any]) -> None:
        raise AssertionError("not folded here")


class Geo:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    async def places(self, jurisdiction_id: str, query: str, *, on_behalf_of: str) -> list[Place]:
        self.asked.append((jurisdiction_id, query, on_behalf_of))
        return [MAIN]


class Intake:
    def __init__(self) -> None:
        self.filed: list[TextReport] = []

    async def submit(self, report: TextReport) -> SubmissionAnswer:
        self.filed.append(report)
        return SubmissionAnswer.filed


def reporting(store: MemoryStore, geo: Geo, intake: Intake) -> TextReporting:
    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[MemoryStore]:
        yield store

    return TextReporting(
        transaction=transaction,
        places=geo,
        submitter=intake,
        catalogs=load_catalogs(),
        pepper=PEPPER,
        jurisdiction_id="demo",
        timeout=timedelta(minutes=30),
        clock=lambda: datetime(2026, 12, 5, 12, tzinfo=UTC),
        new_id=lambda: "conv-1",
    )


async def test_a_whatsapp_report_is_filed_with_the_bare_number_under_the_conversation_s_key() -> None:
    store, geo, intake = MemoryStore(), Geo(), Intake()
    texts = reporting(store, geo, intake)
    sender, whatsapp = "whatsapp:+12025550147", NotificationChannel.whatsapp
    await texts.handle(sender, whatsapp, "a tag on the wall", "en")
    await texts.handle(sender, whatsapp, "12 Main St", "en")
    assert await texts.handle(sender, whatsapp, "ok", "en") == (
        "Thank you: your report is on its way. You will get its number in a moment."
    )
    (report,) = intake.filed
    assert (report.phone, report.channel, report.jurisdiction_id) == ("+12025550147", whatsapp, "demo")
    assert report.idempotency_key == "text-report-conv-1" and report.report.service_code == "graffiti"
    # geo and intake hear of the resident by a pseudonym from the number's digest, never the number
    (asked,) = geo.asked
    assert asked[:2] == ("demo", "12 Main St") and asked[2] == report.on_behalf_of
    assert "2025550147" not in report.on_behalf_of and report.on_behalf_of.startswith("text-report-")
    # the conversation is kept under the digest (the same with or without the prefix), not under the number
    assert list(store.rows) == [sender_digest(PEPPER, whatsapp, "+12025550147")]


async def test_sms_and_whatsapp_from_one_number_are_two_conversations_and_email_is_not_one() -> None:
    store = MemoryStore()
    texts = reporting(store, Geo(), Intake())
    await texts.handle("+12025550147", NotificationChannel.sms, "a tag", "en")
    assert await texts.in_progress("+12025550147", NotificationChannel.sms)
    assert not await texts.in_progress("+12025550147", NotificationChannel.whatsapp)
    assert not await texts.in_progress("+12025550147", NotificationChannel.email)


async def test_a_text_that_moved_the_conversation_while_geo_was_asked_stands() -> None:
    store, intake = MemoryStore(), Intake()

    class SlowGeo(Geo):
        async def places(self, jurisdiction_id: str, query: str, *, on_behalf_of: str) -> list[Place]:
            await texts.handle(
                "+12025550147", NotificationChannel.sms, "EXIT", "en"
            )  # meanwhile, another text
            return await super().places(jurisdiction_id, query, on_behalf_of=on_behalf_of)

    texts = reporting(store, SlowGeo(), intake)
    await texts.handle("+12025550147", NotificationChannel.sms, "a tag", "en")
    await texts.handle("+12025550147", NotificationChannel.sms, "12 Main St", "en")
    (kept,) = store.rows.values()
    assert kept.step.value == "cancelled" and kept.place is None
