"""The public read model's fold, without IO: what a request shows in public, and that nothing personal gets in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import Actor, Event, Location
from civicloop_events.payloads import (
    AreaRef,
    CommentAdded,
    LocationMethod,
    LocationResolved,
    PublicPlace,
    RequestAssigned,
    ServiceRequestSubmitted,
    StatusChanged,
    SurveyAnswered,
)
from civicloop_events.personal_data import SealedPersonalData
from civicloop_places import public_place
from civicloop_projections.domain.public_request import fold_many
from civicloop_testing.events import request_event
from hypothesis import given, settings
from hypothesis import strategies as st

STAFF = Actor(kind="agent", id="agent-secret-7")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _on(payload, minutes: float, actor: Actor = STAFF, number: str = "AB12-CD34") -> Event:
    return request_event(
        payload,
        request_id=number,
        actor=actor,
        source="agent",
        jurisdiction_id="j-public",
        occurred_at=T0 + timedelta(minutes=minutes),
    )


def _history(name: str, phone: str, email: str, house: int) -> tuple[list[Event], list[str]]:
    resident = uuid4()
    contact = SealedPersonalData(resident_id=resident, nonce="bm9uY2Vub25jZTEy", ciphertext="c2VhbGVk")
    address = f"{house} Elm St, Apt 4"
    submitted = ServiceRequestSubmitted(
        service_code="pothole",
        description=f"I am {name}, call {phone} or {email}",
        location=Location(lat=39.290385, long=-76.612189, address_string=address),
        contact=contact,
        preferred_channel="sms",
    )
    events = [
        _on(submitted, 0, Actor(kind="resident")),
        _on(
            LocationResolved(
                lat=39.290385,
                long=-76.612189,
                address=address,
                method=LocationMethod.submitted,
                provider="reporter",
                confidence=1.0,
                service_areas=[AreaRef(area_id="d3", kind="district", name="District 3", version=1)],
                inside_jurisdiction=True,
                public=public_place(39.290385, -76.612189, address),
            ),
            1,
        ),
        _on(CommentAdded(text=f"{name} rang again from {phone}", visibility="internal"), 2),
        _on(RequestAssigned(team_id="roads", staff_id="agent-secret-7"), 3),
        _on(StatusChanged(status="acknowledged", public_note=f"Thanks {email}, crew booked"), 60),
        _on(StatusChanged(status="closed", reason="fixed", public_note=f"Filled; questions? {phone}"), 600),
        _on(SurveyAnswered(resident_id=resident, fixed=True, nps_score=9, channel="sms"), 700),
    ]
    personal = [name, phone, email, str(resident), "39.290385", "-76.612189", "agent-secret-7", address]
    return events, personal


def test_a_request_shows_its_public_facts_only() -> None:
    events, _ = _history("Jane Roe", "410-555-0134", "jane@example.org", 1234)
    (row,) = fold_many({}, events).values()
    place: PublicPlace = public_place(39.290385, -76.612189)
    assert (row.status, row.service_code, row.close_reason, row.nps_score, row.fixed) == (
        "closed",
        "pothole",
        "fixed",
        9,
        True,
    )
    assert (row.submitted_at, row.acknowledged_at, row.closed_at) == (
        T0,
        T0 + timedelta(minutes=60),
        T0 + timedelta(minutes=600),
    )
    assert (row.h3_cell, row.cell_lat, row.cell_long) == (place.h3_cell, place.lat, place.long)
    assert row.block_address == "1200 block of Elm St"
    assert row.service_areas == ("District 3",)
    assert row.public_note == "Filled; questions? [phone removed]"


def test_a_reopen_clears_the_close_and_keeps_the_first_acknowledgement() -> None:
    events, _ = _history("Jane Roe", "410-555-0134", "jane@example.org", 1234)
    reopen = _on(StatusChanged(status="in_progress", previous_status="closed", reason="not_fixed"), 800)
    (row,) = fold_many({}, [*events, reopen]).values()
    assert (row.status, row.closed_at, row.close_reason) == ("in_progress", None, None)
    assert row.acknowledged_at == T0 + timedelta(minutes=60)


def test_events_before_the_submission_are_not_shown() -> None:
    assert fold_many({}, [_on(StatusChanged(status="closed", reason="fixed"), 1)]) == {}


@settings(max_examples=50)
@given(
    name=st.from_regex(r"[A-Z][a-z]{3,10} [A-Z][a-z]{3,12}", fullmatch=True),
    phone=st.from_regex(r"\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]?\d{4}", fullmatch=True),
    email=st.from_regex(r"[a-z]{3,10}\.[a-z]{3,10}@[a-z]{3,8}\.org", fullmatch=True),
    house=st.integers(min_value=101, max_value=99999).filter(lambda n: n % 100),
)
def test_no_personal_string_reaches_a_public_row(name: str, phone: str, email: str, house: int) -> None:
    events, personal = _history(name, phone, email, house)
    (row,) = fold_many({}, events).values()
    shown = repr(dataclasses.asdict(row))
    for value in personal:
        assert value not in shown
    assert row.block_address == f"{house // 100 * 100} block of Elm St"
