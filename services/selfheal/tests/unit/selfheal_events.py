"""Events of one request for selfheal's tests, each at the instant the test names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    CategorySla,
    EventPayload,
    Location,
    OpeningHours,
    Routed,
    SendFailed,
    SendMethod,
    SentToBackend,
    ServiceRequestSubmitted,
    SlaClock,
    SlaDefined,
    Weekday,
)
from civicloop_testing.events import request_event

RESIDENT = Actor(kind=ActorKind.resident, id="resident-1")
AGENT = Actor(kind=ActorKind.agent, id="0193a1b2-0000-7000-8000-00000000a001")
OUTBOUND = Actor(kind=ActorKind.system, id="outbound")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)

# Around the clock, so instants are plain arithmetic: acknowledge within 1 h, resolve within 8 h, dormant after 2 days.
DEFINITION = SlaDefined(
    time_zone="UTC",
    opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
    categories=[
        CategorySla(
            service_code="pothole",
            acknowledge_within_minutes=60,
            resolve_within_minutes=8 * 60,
            clock=SlaClock.all_hours,
        )
    ],
    dormant_after_days=2,
)


def at(
    payload: EventPayload, when: datetime, *, actor: Actor = AGENT, number: str = "1ABC-DEFG"
) -> Event[Any]:
    return request_event(payload, request_id=number, actor=actor, source="test", occurred_at=when)


def submitted(when: datetime = T0, *, number: str = "1ABC-DEFG", service_code: str = "pothole") -> Event[Any]:
    payload = ServiceRequestSubmitted(
        service_code=service_code, description="a hole in the road", location=Location(lat=41.88, long=-87.63)
    )
    return at(payload, when, actor=RESIDENT, number=number)


def routed(when: datetime, body: str = "roads", *, number: str = "1ABC-DEFG") -> Event[Any]:
    return at(Routed(body_id=body), when, actor=OUTBOUND, number=number)


def sent(when: datetime, body: str = "roads", *, number: str = "1ABC-DEFG") -> Event[Any]:
    return at(
        SentToBackend(body_id=body, method=SendMethod.email, attempt=1), when, actor=OUTBOUND, number=number
    )


def given_up(
    when: datetime, body: str = "roads", *, attempt: int = 5, number: str = "1ABC-DEFG"
) -> Event[Any]:
    payload = SendFailed(
        body_id=body, method=SendMethod.email, attempt=attempt, error="SMTPRecipientsRefused"
    )
    return at(payload, when, actor=OUTBOUND, number=number)
