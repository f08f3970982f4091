"""A visit's `.ics` from a notice's facts (pure): the UID from the visit, the SEQUENCE the fold counted, the alarm,
the address snapshot, the request number and the tracking link, in the resident's language."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from civicloop_channels.calendar import Organizer
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain import photos, visit_calendar
from civicloop_notifier.domain.notices import VisitFacts
from civicloop_notifier.domain.texts import Texts
from civicloop_notifier.domain.visit_calendar import CalendarPolicy
from icalendar import Calendar

CATALOGS = load_catalogs()
TEXTS = Texts(CATALOGS)
LINK = "https://civicloop.example/track/1ABC-2DEF"
START = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
RECORDED = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
POLICY = CalendarPolicy(
    "civicloop.example", Organizer("no-reply@county.example", "County"), timedelta(hours=24)
)


def ics(visit: VisitFacts, language: str = "en", policy: CalendarPolicy = POLICY):
    attachment = visit_calendar.visit_calendar(
        visit,
        number="1ABC-2DEF",
        tracking_link=LINK,
        translate=partial(TEXTS.text, language=language, jurisdiction_id="demo"),
        policy=policy,
    )
    calendar = Calendar.from_ical(attachment.content)
    (entry,) = calendar.walk("VEVENT")
    return attachment, calendar, entry


def scheduled(**changes) -> VisitFacts:
    facts = {
        "visit_id": "v1",
        "starts_at": START,
        "duration_minutes": 90,
        "address": "1200 block of Main St",
        "sequence": 0,
        "recorded_at": RECORDED,
    } | changes
    return VisitFacts(**facts)


@pytest.mark.parametrize("msgid", visit_calendar.every_msgid() + photos.every_msgid())
def test_every_calendar_and_photo_text_has_a_spanish_translation(msgid):
    translated = CATALOGS["es"].gettext(msgid)
    assert translated != msgid and translated.count("%(") == msgid.count("%(")


def test_a_scheduled_visit_is_a_request_at_sequence_0_with_its_place_number_link_and_a_24_hour_alarm():
    attachment, calendar, entry = ics(scheduled())
    assert attachment.content_type == "text/calendar; method=REQUEST; charset=UTF-8"
    assert attachment.filename == "visit-1ABC-2DEF.ics"
    assert calendar["method"] == "REQUEST"
    assert str(entry["uid"]) == "visit-v1@civicloop.example" and entry["sequence"] == 0
    assert entry.decoded("dtstart") == START and entry.decoded("dtend") == START + timedelta(minutes=90)
    assert entry.decoded("dtstamp") == RECORDED
    assert str(entry["location"]) == "1200 block of Main St"
    assert str(entry["summary"]) == "Visit for your report 1ABC-2DEF"
    assert "1200 block of Main St" in str(entry["description"]) and LINK in str(entry["description"])
    (alarm,) = entry.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(hours=24)


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence_and_the_alarm_window_is_configurable():
    moved = START + timedelta(days=1)
    policy = CalendarPolicy(POLICY.uid_domain, POLICY.organizer, timedelta(hours=2))
    _, calendar, entry = ics(scheduled(starts_at=moved, sequence=1), policy=policy)
    assert calendar["method"] == "REQUEST"
    assert str(entry["uid"]) == "visit-v1@civicloop.example" and entry["sequence"] == 1
    assert entry.decoded("dtstart") == moved
    (alarm,) = entry.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(hours=2)


def test_a_cancellation_cancels_the_same_entry_in_spanish():
    attachment, calendar, entry = ics(scheduled(sequence=2, cancelled=True), language="es-US")
    assert calendar["method"] == "CANCEL" and attachment.content_type.startswith(
        "text/calendar; method=CANCEL"
    )
    assert str(entry["uid"]) == "visit-v1@civicloop.example" and entry["sequence"] == 2
    assert str(entry["status"]) == "CANCELLED" and not entry.walk("VALARM")
    assert str(entry["summary"]) == "Visita por su reporte 1ABC-2DEF"
    assert str(entry["description"]).startswith("La visita por su reporte 1ABC-2DEF se canceló.")


def test_the_same_change_makes_the_same_file():
    assert ics(scheduled())[0].content == ics(scheduled())[0].content


def test_a_cancellation_never_seen_planned_still_names_the_entry():
    _, _, entry = ics(scheduled(duration_minutes=None, address=None, cancelled=True, sequence=0))
    assert entry.decoded("dtend") - entry.decoded("dtstart") == visit_calendar.DEFAULT_DURATION


@pytest.mark.parametrize(
    ("url", "ours"),
    [
        ("https://media.civicloop.example/requests/a.jpg", True),
        ("https://media.civicloop.example/requests", False),
        ("https://media.civicloop.example/requests/../secrets/a.jpg", False),
        ("https://media.civicloop.example.evil.test/requests/a.jpg", False),
        ("https://user:pw@media.civicloop.example/requests/a.jpg", False),
        ("ftp://media.civicloop.example/requests/a.jpg", False),
        ("https://elsewhere.example/requests/a.jpg", False),
    ],
)
def test_only_photos_civicloop_serves_itself_are_fetched(url, ours):
    assert photos.served_by_us(url, ["https://media.civicloop.example/requests/"]) is ours


def test_a_photo_is_named_by_its_image_type_and_anything_else_is_not_attached():
    assert photos.photo_filename(2, "image/jpeg") == "photo-2.jpg"
    assert photos.photo_filename(1, "image/png; charset=binary") == "photo-1.png"
    assert photos.photo_filename(1, "text/html") is None
