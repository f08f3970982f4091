"""A visit as a calendar entry (`icalendar`, RFC 5545 with iTIP's RFC 5546 methods), for the resident's calendar.

One visit is one entry for its whole life: its `UID` comes from the visit's id, and each change raises its
`SEQUENCE`, so a calendar that holds the entry moves it on `METHOD:REQUEST` (rescheduled) and drops it on
`METHOD:CANCEL` (cancelled). The notifier counts the changes (scheduled 0, each reschedule or the cancellation one
more) and passes the time the change was recorded as `DTSTAMP`: the same change always makes the same file, so a
resend is the same entry.

The texts (summary, description, the reminder) come from the notifier's catalogs in the resident's language; the
file holds no contact of the resident unless the caller names them as the attendee (then it is made at sending).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from civicloop_channels.message import Attachment

PRODID = "-//CivicLoop//Notifier//EN"
DEFAULT_ALARM_BEFORE = timedelta(hours=24)


@dataclass(frozen=True)
class VisitTexts:
    """What the entry says, in the resident's language; the tracking link is added to the description."""

    summary: str  # e.g. "Visit for request 7KQ4-MZT2" (the number is added when the text lacks it)
    description: str  # e.g. "A crew will come to look at the pothole you reported."
    reminder: str  # the alarm's text, e.g. "Tomorrow: a visit for request 7KQ4-MZT2"


@dataclass(frozen=True)
class Visit:
    """One planned visit as the resident should see it (the address is the resident-facing snapshot)."""

    visit_id: str
    request_number: str
    starts_at: datetime  # aware
    duration: timedelta
    address: str
    tracking_url: str
    sequence: int  # 0 when scheduled, one more for each reschedule and for the cancellation
    recorded_at: datetime  # when the change was recorded (aware): the file's DTSTAMP


@dataclass(frozen=True)
class Organizer:
    """The county's sending address, which iTIP wants on every request and cancellation."""

    email: str
    name: str


def visit_uid(visit_id: str, domain: str) -> str:
    """Stable for the visit's whole life: the calendar entry the reschedules move and the cancellation removes."""
    return f"visit-{visit_id}@{domain}"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a calendar time must be aware (it carries its offset)")
    return moment.astimezone(UTC)


def _entry(
    visit: Visit, texts: VisitTexts, organizer: Organizer, uid_domain: str, status: str, attendee: str | None
) -> Event:
    if visit.sequence < 0:
        raise ValueError("a SEQUENCE is 0 or more")
    event = Event()
    event.add("uid", visit_uid(visit.visit_id, uid_domain))
    event.add("sequence", visit.sequence)
    event.add("dtstamp", _utc(visit.recorded_at))
    event.add("dtstart", _utc(visit.starts_at))
    event.add("dtend", _utc(visit.starts_at + visit.duration))
    # The request number is what the resident quotes when they call: the entry's title always carries it.
    summary = (
        texts.summary
        if visit.request_number in texts.summary
        else f"{texts.summary} ({visit.request_number})"
    )
    event.add("summary", summary)
    event.add("location", visit.address)
    event.add("description", f"{texts.description}\n\n{visit.tracking_url}")
    event.add("url", visit.tracking_url)
    event.add("status", status)
    event.add("transp", "TRANSPARENT")  # the crew's visit; the resident's time stays free
    county = vCalAddress(f"mailto:{organizer.email}")
    county.params["cn"] = vText(organizer.name)
    event.add("organizer", county)
    if attendee is not None:
        resident = vCalAddress(f"mailto:{attendee}")
        resident.params["role"] = vText("REQ-PARTICIPANT")
        resident.params["rsvp"] = vText("FALSE")  # nothing to answer: the county sets the time
        event.add("attendee", resident)
    return event


def _calendar(method: str, event: Event) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics


def visit_request(
    visit: Visit,
    texts: VisitTexts,
    *,
    organizer: Organizer,
    uid_domain: str,
    alarm_before: timedelta | None = DEFAULT_ALARM_BEFORE,
    attendee: str | None = None,
) -> bytes:
    """`METHOD:REQUEST`: a new visit, or the new window of a rescheduled one; a reminder `alarm_before` the start.

    `attendee` (the resident's email address, as RFC 5546 wants on a request) helps mail clients move the entry
    on their own; it is the resident's contact, so a file with it is made when the email is sent, never stored.
    """
    event = _entry(visit, texts, organizer, uid_domain, "CONFIRMED", attendee)
    if alarm_before is not None:
        if alarm_before <= timedelta(0):
            raise ValueError("the reminder comes before the visit")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", texts.reminder)
        alarm.add("trigger", -alarm_before)
        event.add_component(alarm)
    return _calendar("REQUEST", event)


def visit_cancel(
    visit: Visit, texts: VisitTexts, *, organizer: Organizer, uid_domain: str, attendee: str | None = None
) -> bytes:
    """`METHOD:CANCEL`: the entry with the visit's `UID`, at a higher `SEQUENCE`, leaves the resident's calendar."""
    return _calendar("CANCEL", _entry(visit, texts, organizer, uid_domain, "CANCELLED", attendee))


def ics_attachment(ics: bytes, *, request_number: str) -> Attachment:
    """The file as an email attachment; its content type carries the method, as iTIP over email asks."""
    method = str(Calendar.from_ical(ics).get("method", "PUBLISH"))
    return Attachment(
        filename=f"visit-{request_number}.ics",
        content_type=f"text/calendar; method={method}; charset=UTF-8",
        content=ics,
    )
