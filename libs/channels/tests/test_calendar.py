"""A visit's calendar file, parsed back as a calendar application reads it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from civicloop_channels.calendar import (
    DEFAULT_ALARM_BEFORE,
    Organizer,
    Visit,
    VisitTexts,
    ics_attachment,
    visit_cancel,
    visit_request,
)
from icalendar import Calendar, Event

PACIFIC = timezone(timedelta(hours=-8))
COUNTY = Organizer(email="no-reply@county.example", name="Springfield County")
SCHEDULED = Visit(
    visit_id="01JEVISIT7",
    request_number="7KQ4-MZT2",
    starts_at=datetime(2026, 12, 8, 9, 30, tzinfo=PACIFIC),
    duration=timedelta(minutes=90),
    address="1200 Main St, Springfield (near the bus stop)",
    tracking_url="https://civicloop.county.example/track/7KQ4-MZT2",
    sequence=0,
    recorded_at=datetime(2026, 12, 5, 17, 2, 11, tzinfo=UTC),
)
ENGLISH = VisitTexts(
    summary="Visit for request 7KQ4-MZT2",
    description="A crew will come to look at the pothole you reported.",
    reminder="Tomorrow: a visit for request 7KQ4-MZT2",
)
SPANISH = VisitTexts(
    summary="Visita por la solicitud 7KQ4-MZT2",
    description="Un equipo irá a revisar el bache que usted reportó; gracias, señora.",
    reminder="Mañana: visita por la solicitud 7KQ4-MZT2",
)


def _parsed(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return calendar, event


def _request(visit: Visit = SCHEDULED, texts: VisitTexts = ENGLISH, **kwargs: object) -> bytes:
    return visit_request(visit, texts, organizer=COUNTY, uid_domain="county.example", **kwargs)  # type: ignore[arg-type]


def test_a_scheduled_visit_is_a_request_with_the_window_the_place_and_the_tracking_link():
    calendar, event = _parsed(_request())
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert event["UID"] == "visit-01JEVISIT7@county.example"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime(2026, 12, 8, 17, 30, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
    assert event.decoded("DTSTAMP") == datetime(2026, 12, 5, 17, 2, 11, tzinfo=UTC)
    assert str(event["LOCATION"]) == "1200 Main St, Springfield (near the bus stop)"
    assert "7KQ4-MZT2" in str(event["SUMMARY"])
    description = str(event["DESCRIPTION"])
    assert description.startswith("A crew will come to look at the pothole you reported.")
    assert "https://civicloop.county.example/track/7KQ4-MZT2" in description
    assert str(event["URL"]) == "https://civicloop.county.example/track/7KQ4-MZT2"
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:no-reply@county.example"
    assert event["ORGANIZER"].params["CN"] == "Springfield County"


def test_the_reminder_comes_24_hours_before_by_default():
    _, event = _parsed(_request())
    (alarm,) = event.walk("VALARM")
    assert timedelta(hours=24) == DEFAULT_ALARM_BEFORE
    assert alarm.decoded("TRIGGER") == -timedelta(hours=24)
    assert alarm["ACTION"] == "DISPLAY"
    assert str(alarm["DESCRIPTION"]) == "Tomorrow: a visit for request 7KQ4-MZT2"


def test_the_reminder_window_is_configured():
    _, event = _parsed(_request(alarm_before=timedelta(hours=2)))
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(hours=2)


def test_no_reminder_when_none_is_configured():
    _, event = _parsed(_request(alarm_before=None))
    assert event.walk("VALARM") == []


def test_a_reminder_after_the_start_is_refused():
    with pytest.raises(ValueError, match="before"):
        _request(alarm_before=timedelta(0))


def test_a_rescheduled_visit_keeps_its_uid_and_raises_its_sequence_so_the_entry_moves():
    moved = replace(
        SCHEDULED,
        starts_at=datetime(2026, 12, 9, 14, 0, tzinfo=PACIFIC),
        duration=timedelta(hours=2),
        sequence=1,
        recorded_at=datetime(2026, 12, 6, 8, 0, tzinfo=UTC),
    )
    _, before = _parsed(_request())
    calendar, after = _parsed(_request(moved))
    assert calendar["METHOD"] == "REQUEST"
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after.decoded("DTSTART") == datetime(2026, 12, 9, 22, 0, tzinfo=UTC)
    assert after.decoded("DTEND") - after.decoded("DTSTART") == timedelta(hours=2)
    assert after.decoded("DTSTAMP") > before.decoded("DTSTAMP")


def test_a_cancelled_visit_cancels_the_same_entry():
    cancelled = replace(SCHEDULED, sequence=2, recorded_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    calendar, event = _parsed(visit_cancel(cancelled, ENGLISH, organizer=COUNTY, uid_domain="county.example"))
    _, scheduled = _parsed(_request())
    assert calendar["METHOD"] == "CANCEL"
    assert event["UID"] == scheduled["UID"]
    assert event["SEQUENCE"] == 2
    assert event["STATUS"] == "CANCELLED"
    assert event.walk("VALARM") == []


def test_the_same_change_makes_the_same_file_so_a_resend_is_the_same_entry():
    assert _request() == _request()


def test_spanish_texts_come_back_whole():
    _, event = _parsed(_request(texts=SPANISH))
    assert str(event["SUMMARY"]) == "Visita por la solicitud 7KQ4-MZT2"
    assert str(event["DESCRIPTION"]).startswith(
        "Un equipo irá a revisar el bache que usted reportó; gracias, señora."
    )
    (alarm,) = event.walk("VALARM")
    assert str(alarm["DESCRIPTION"]) == "Mañana: visita por la solicitud 7KQ4-MZT2"


def test_the_request_number_is_in_the_title_even_when_the_text_lacks_it():
    _, event = _parsed(_request(texts=replace(ENGLISH, summary="Crew visit")))
    assert str(event["SUMMARY"]) == "Crew visit (7KQ4-MZT2)"


def test_the_file_names_no_resident_unless_asked():
    _, event = _parsed(_request())
    assert "ATTENDEE" not in event


@pytest.mark.parametrize("make", ["request", "cancel"])
def test_the_resident_may_be_named_as_the_attendee_that_need_not_answer(make: str):
    ics = (
        _request(attendee="ana.lopez@example.org")
        if make == "request"
        else visit_cancel(
            SCHEDULED,
            ENGLISH,
            organizer=COUNTY,
            uid_domain="county.example",
            attendee="ana.lopez@example.org",
        )
    )
    _, event = _parsed(ics)
    assert str(event["ATTENDEE"]) == "mailto:ana.lopez@example.org"
    assert event["ATTENDEE"].params["RSVP"] == "FALSE"


def test_a_time_without_its_offset_is_refused():
    with pytest.raises(ValueError, match="aware"):
        _request(replace(SCHEDULED, starts_at=datetime(2026, 12, 8, 9, 30)))


def test_a_negative_sequence_is_refused():
    with pytest.raises(ValueError, match="SEQUENCE"):
        _request(replace(SCHEDULED, sequence=-1))


@pytest.mark.parametrize(("make", "method"), [("request", "REQUEST"), ("cancel", "CANCEL")])
def test_the_attachment_s_content_type_carries_the_method(make: str, method: str):
    ics = (
        _request()
        if make == "request"
        else visit_cancel(SCHEDULED, ENGLISH, organizer=COUNTY, uid_domain="county.example")
    )
    attachment = ics_attachment(ics, request_number="7KQ4-MZT2")
    assert attachment.filename == "visit-7KQ4-MZT2.ics"
    assert attachment.content_type == f"text/calendar; method={method}; charset=UTF-8"
    assert attachment.content == ics
