"""The order a resident's text is taken in (the service layer on in-memory fakes): keywords first, then a report by
text under way, then their open request; with none open, text reporting (or the help text)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_channels.sms_keywords import Program
from civicloop_events.payloads import CommentAdded, NotificationChannel
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain.conversation import Conversation
from civicloop_notifier.service_layer.inbound_texts import InboundTexts, IncomingMessage
from civicloop_notifier.service_layer.preferences import ContactPreferences
from civicloop_notifier.service_layer.surveys import SurveyAnswers

pytestmark = pytest.mark.asyncio

SMS = NotificationChannel.sms
PHONE = "+12025550123"
RESIDENT = uuid.uuid4()
CATALOGS = load_catalogs()
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Request:
    request_id: str
    jurisdiction_id: str = "demo"


@dataclass
class Store:
    open: list[Request] = field(default_factory=list)
    opt_outs: dict[tuple[bytes, NotificationChannel], bool] = field(default_factory=dict)
    taken_ids: set[str] = field(default_factory=set)
    talking: str | None = None

    async def seen(self, inbound_id: str) -> bool:
        return inbound_id in self.taken_ids

    async def taken(self, inbound_id: str) -> None:
        self.taken_ids.add(inbound_id)

    async def open_requests(self, resident_id: uuid.UUID) -> Sequence[Request]:
        return self.open

    async def language_of(self, resident_id: uuid.UUID) -> str | None:
        return "en"

    async def conversation(self, resident_id: uuid.UUID) -> tuple[Conversation, Any] | None:
        return (Conversation(self.talking, (), False, NOW), None) if self.talking else None

    async def talking_about(self, resident_id: uuid.UUID, request_id: str, at: datetime) -> None:
        self.talking = request_id

    async def ask(self, *args: Any) -> None:
        raise AssertionError("not asked in these tests")

    async def opted_out(self, digests: Any) -> set[NotificationChannel]:
        return {c for c, d in digests.items() if self.opt_outs.get((d, c))}

    async def set_opt_out(self, digest: bytes, channel: NotificationChannel, opted_out: bool) -> None:
        self.opt_outs[(digest, channel)] = opted_out

    async def last_survey_asked(self, resident_id: uuid.UUID) -> None:
        return None


@dataclass
class Reporting:
    under_way: bool = False
    handled: list[str] = field(default_factory=list)

    async def in_progress(self, sender: str, channel: NotificationChannel) -> bool:
        return self.under_way

    async def handle(self, sender: str, channel: NotificationChannel, text: str, language: str) -> str:
        self.handled.append(text)
        return "What is the address?"


def texts(
    store: Store, published: list[Any], reporting: Reporting | None, known: bool = True
) -> InboundTexts:
    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[Store]:
        yield store

    async def find_resident(**_: Any) -> uuid.UUID | None:
        return RESIDENT if known else None

    async def publish(event: Any) -> None:
        published.append(event)

    async def key_for(_: uuid.UUID) -> bytes:
        return b"k" * 32

    return InboundTexts(
        transaction=transaction,
        find_resident=find_resident,
        key_for=key_for,
        preferences=ContactPreferences(transaction, b"p" * 32),
        surveys=SurveyAnswers(transaction=transaction, find_resident=find_resident, publish=publish),
        publish=publish,
        program=Program("CivicLoop 311", "311"),
        clock=lambda: NOW,
        conversation_ttl=timedelta(hours=1),
        catalogs=CATALOGS,
        text_reporting=reporting,
    )


def text(body: str, sid: str = "SM1") -> IncomingMessage:
    return IncomingMessage(sid, SMS, PHONE, body)


async def test_a_keyword_comes_before_everything():
    store, published, reporting = Store(open=[Request("1AAA-0001")]), [], Reporting(under_way=True)
    reply = await texts(store, published, reporting).text(text("STOP"))
    assert reply is not None and "unsubscribed" in reply
    assert published == [] and reporting.handled == []
    assert any(store.opt_outs.values())


async def test_a_report_under_way_keeps_the_conversation_over_an_open_request():
    store, published, reporting = Store(open=[Request("1AAA-0001")]), [], Reporting(under_way=True)
    assert await texts(store, published, reporting).text(text("Main St 5")) == "What is the address?"
    assert published == [] and reporting.handled == ["Main St 5"]


async def test_a_text_lands_on_the_open_request_once():
    store, published, reporting = Store(open=[Request("1AAA-0001")]), [], Reporting()
    inbound = texts(store, published, reporting)
    assert await inbound.text(text("Still there")) == "Thanks, we added your message to request 1AAA-0001."
    assert await inbound.text(text("Still there")) is None  # the same SID again: taken already
    [event] = published
    assert isinstance(event.payload, CommentAdded) and event.request_id == "1AAA-0001"
    assert reporting.handled == []


async def test_without_an_open_request_text_reporting_takes_it_or_the_help_text_is_given():
    store, published = Store(), []
    reporting = Reporting()
    assert (
        await texts(store, published, reporting, known=False).text(text("Pothole")) == "What is the address?"
    )
    assert reporting.handled == ["Pothole"]
    reply = await texts(store, published, None).text(text("Pothole", "SM2"))
    assert reply is not None and reply.startswith("We could not find an open request")
    assert published == []
