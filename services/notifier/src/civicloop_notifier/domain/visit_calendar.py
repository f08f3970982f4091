"""A visit's calendar file for the resident's email (`civicloop_channels.calendar`): pure, from the notice's facts.

The `UID` comes from the visit's id (never from the resident), the `SEQUENCE` from the count of that visit's changes
the fold saw and `DTSTAMP` from the time the change was recorded: the same change always makes the same file, so a
replay or a resend is the same entry, a reschedule moves it and a cancellation removes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from civicloop_channels.calendar import (
    Organizer,
    Visit,
    VisitTexts,
    ics_attachment,
    visit_cancel,
    visit_request,
)
from civicloop_channels.message import Attachment

from civicloop_notifier.domain.notices import VisitFacts
from civicloop_notifier.domain.texts import N_

SUMMARY = N_("Visit for your report %(number)s")
DESCRIPTION = N_("A crew will come for your report %(number)s at %(address)s.")
CANCELLED_DESCRIPTION = N_("The visit for your report %(number)s is cancelled.")
REMINDER = N_("Reminder: a visit for your report %(number)s is coming.")
DEFAULT_DURATION = timedelta(hours=1)
"""A cancellation's window when the fold never saw the visit planned (its file only has to name the entry)."""


@dataclass(frozen=True)
class CalendarPolicy:
    uid_domain: str  # the entries' UIDs are `visit-<id>@<domain>`
    organizer: Organizer  # the county's sending address, which iTIP wants on every request and cancellation
    alarm_before: timedelta  # the reminder's window before the visit


def every_msgid() -> list[str]:
    return [SUMMARY, DESCRIPTION, CANCELLED_DESCRIPTION, REMINDER]


def visit_calendar(
    visit: VisitFacts,
    *,
    number: str,
    tracking_link: str,
    translate: Callable[[str], str],
    policy: CalendarPolicy,
) -> Attachment:
    """The `.ics` of one change of a visit: `METHOD:REQUEST` (scheduled, rescheduled) or `METHOD:CANCEL`."""
    address = visit.address or ""
    facts = {"number": number, "address": address}
    description = CANCELLED_DESCRIPTION if visit.cancelled else DESCRIPTION
    texts = VisitTexts(
        summary=translate(SUMMARY) % facts,
        description=translate(description) % facts,
        reminder=translate(REMINDER) % facts,
    )
    entry = Visit(
        visit_id=visit.visit_id,
        request_number=number,
        starts_at=visit.starts_at,
        duration=timedelta(minutes=visit.duration_minutes) if visit.duration_minutes else DEFAULT_DURATION,
        address=address,
        tracking_url=tracking_link,
        sequence=visit.sequence,
        recorded_at=visit.recorded_at or visit.starts_at,
    )
    if visit.cancelled:
        ics = visit_cancel(entry, texts, organizer=policy.organizer, uid_domain=policy.uid_domain)
    else:
        ics = visit_request(
            entry,
            texts,
            organizer=policy.organizer,
            uid_domain=policy.uid_domain,
            alarm_before=policy.alarm_before,
        )
    return ics_attachment(ics, request_number=number)
