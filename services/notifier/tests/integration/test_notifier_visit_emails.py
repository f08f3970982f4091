"""Visit emails carry the `.ics`, sent through the real SMTP sender (aiosmtplib) to aiosmtpd, on the real broker and
database: scheduled, rescheduled, cancelled as one calendar entry; a closing's photos attached or linked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_events.payloads import (
    Channel,
    CommentAdded,
    NotificationChannel,
    StatusChanged,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.threaded_server import serve_in_thread
from icalendar import Calendar
from notifier_harness import Harness, agent, new_number, settings_for
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

EMAIL = NotificationChannel.email
START = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
PHOTO = b"\xff\xd8\xff\xe0" + b"\x00" * 2000  # a small "JPEG"
BIG = b"\xff\xd8\xff\xe0" + b"\x00" * 50_000


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
def media() -> Iterator[str]:
    """CivicLoop's own media location: a small photo and a big one."""

    async def photo(request):
        body = PHOTO if request.path_params["name"] == "small.jpg" else BIG
        return Response(body, media_type="image/jpeg")

    with serve_in_thread(Starlette(routes=[Route("/media/{name}", photo)])) as base_url:
        yield f"{base_url}/media/"


@pytest.fixture
async def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, inbox, media):
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        notifier_visit_alarm_hours=24,
        notifier_media_url_prefixes=[media],
        notifier_photo_max_bytes=10_000,
    )
    sender = SmtpEmailSender(SmtpSettings("127.0.0.1", inbox.port, "County <no-reply@county.example>"))
    yield Harness(settings, fresh_topics, kafka_bootstrap, vault, senders={EMAIL: sender})  # type: ignore[dict-item]
    await sender.close()


def calendar_of(message: EmailMessage) -> Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def visit_plan(number: str) -> list:
    moved = START + timedelta(days=2)
    return [
        agent(
            number,
            VisitScheduled(
                visit_id="v-" + number, starts_at=START, duration_minutes=60, address="100 block Oak St"
            ),
        ),
        agent(
            number,
            VisitRescheduled(
                visit_id="v-" + number,
                starts_at=moved,
                duration_minutes=30,
                previous_starts_at=START,
                address="100 block Oak St",
            ),
        ),
        agent(number, VisitCancelled(visit_id="v-" + number, starts_at=moved)),
    ]


@pytest.mark.parametrize(
    ("language", "summary", "description"),
    [("en", "Visit for your report", "A crew will come"), ("es", "Visita por su reporte", "Un equipo irá")],
)
async def test_a_visit_scheduled_rescheduled_and_cancelled_is_one_calendar_entry(
    harness: Harness, inbox: SmtpInbox, language: str, summary: str, description: str
):
    number = new_number()
    async with harness.running() as notifier:
        await harness.publish(await harness.submitted(number, channel=Channel.email, language=language))
        await harness.publish(*visit_plan(number))

        async def four() -> list | None:
            got = inbox.to(harness.email)
            return got if len(got) == 4 else None

        received = await eventually(four, what="the received notice and three visit emails")
        await harness.applied(notifier)

    calendars = [calendar_of(r.message) for r in received[1:]]
    assert [str(c["method"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    entries = [c.walk("VEVENT")[0] for c in calendars]
    assert {str(e["uid"]) for e in entries} == {f"visit-v-{number}@civicloop.example"}
    assert [e["sequence"] for e in entries] == [0, 1, 2]
    assert [e.decoded("dtstart") for e in entries] == [
        START,
        START + timedelta(days=2),
        START + timedelta(days=2),
    ]
    assert entries[1].decoded("dtend") - entries[1].decoded("dtstart") == timedelta(minutes=30)
    for entry in entries:
        assert str(entry["location"]) == "100 block Oak St"
        assert str(entry["summary"]).startswith(summary) and number in str(entry["summary"])
        assert f"https://civicloop.example/track/{number}" in str(entry["description"])
    assert str(entries[0]["description"]).startswith(description)
    assert [a.decoded("trigger") for a in entries[0].walk("VALARM")] == [-timedelta(hours=24)]
    assert not entries[2].walk("VALARM")
    assert not [p for p in received[0].message.walk() if p.get_content_type() == "text/calendar"]

    # The whole log again: the same changes keep their numbers, and nothing is sent twice.
    replay = harness.settings.requests_consumer_name + ".replay"
    async with harness.running(requests_consumer_name=replay) as replaying:
        await harness.applied(replaying)
        assert await replaying.sender_loop.drain() == 0
        async with replaying.pool.connection() as conn:
            cur = await conn.execute(
                "select sequence from notifier.visit_changes where request_id = %s order by sequence",
                (number,),
            )
            assert [r[0] for r in await cur.fetchall()] == [0, 1, 2]
    assert len(inbox.to(harness.email)) == 4


async def test_a_closing_email_attaches_our_small_photos_and_links_the_others(
    harness: Harness, inbox: SmtpInbox, media: str
):
    number = new_number()
    small, big, elsewhere = f"{media}small.jpg", f"{media}big.jpg", "https://photos.example.org/fixed.jpg"
    async with harness.running():
        await harness.publish(
            await harness.submitted(number, channel=Channel.email),
            agent(number, CommentAdded(text="Fixed", visibility="public", media_urls=[small, elsewhere])),
            agent(
                number, CommentAdded(text="crew notes", visibility="internal", media_urls=[big + "?internal"])
            ),
            agent(number, CommentAdded(text="After", visibility="public", media_urls=[big])),
            agent(number, StatusChanged(status="closed", previous_status="open", reason="resolved")),
        )

        async def closing() -> EmailMessage | None:
            got = [
                r.message
                for r in inbox.to(harness.email)
                if "closed" in r.message.get_body(("plain",)).get_content()
            ]
            return got[0] if got else None

        message = await eventually(closing, what="the closing email")
    images = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert [(p.get_filename(), p.get_payload(decode=True)) for p in images] == [("photo-1.jpg", PHOTO)]
    text = message.get_body(("plain",)).get_content()
    assert f"Photo: {elsewhere}" in text and f"Photo: {big}" in text
    assert "internal" not in text and small not in text
