"""Events as intake, agents and the configuration tools write them, for the projection's integration tests."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import (
    Actor,
    CommentAdded,
    Event,
    Location,
    ServiceAreaDefined,
    ServiceDefined,
    StatusChanged,
)
from civicloop_events.payloads import (
    CategoryChanged,
    PriorityChanged,
    RequestAssigned,
    ServiceRequestSubmitted,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_events.personal_data import SealedPersonalData
from civicloop_testing.events import request_event

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESIDENT = Actor(kind="resident")
AGENT = Actor(kind="agent", id="agent-7")
SYSTEM = Actor(kind="system", id="seed")


def new_number() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return chars[:4] + "-" + chars[4:]


def new_jurisdiction() -> str:
    return f"j-{uuid4().hex[:10]}"


def at(minutes: float) -> datetime:
    """A fixed instant, so orderings in tests never depend on the clock."""
    return datetime(2026, 3, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def sealed_contact() -> SealedPersonalData:
    return SealedPersonalData(
        resident_id=uuid4(), nonce="bm9uY2Vub25jZTEy", ciphertext="c2VhbGVkLWNvbnRhY3Q="
    )


def on_request(
    payload, number: str | None, jurisdiction: str, actor: Actor, source: str, minutes: float
) -> Event:
    return request_event(
        payload,
        request_id=number,
        actor=actor,
        source=source,
        jurisdiction_id=jurisdiction,
        occurred_at=at(minutes),
    )


def submitted(
    number: str,
    jurisdiction: str,
    *,
    service_code: str = "pothole",
    lat: float | None = 34.05,
    long: float | None = -118.25,
    minutes: int = 0,
    contact: SealedPersonalData | None = None,
    address: str | None = "200 N Spring St",
    description: str = "a hole in the road",
) -> Event:
    location = Location(lat=lat, long=long, address_string=address)
    payload = ServiceRequestSubmitted(
        service_code=service_code,
        description=description,
        location=location,
        attributes={"size": ["large"]},
        media_urls=["https://img.example/1.jpg"],
        contact=contact,
        preferred_channel="sms" if contact else "none",
    )
    return on_request(payload, number, jurisdiction, RESIDENT, "web", minutes)


def status_changed(
    number: str,
    jurisdiction: str,
    status: str,
    *,
    previous: str | None = None,
    minutes: int = 1,
    external_status_code: str | None = None,
) -> Event:
    payload = StatusChanged(
        status=status,
        previous_status=previous,
        external_status_code=external_status_code,
        public_note=f"now {status}",
    )
    return on_request(payload, number, jurisdiction, AGENT, "agent", minutes)


def comment(number: str, jurisdiction: str, text: str = "crew on the way", *, minutes: int = 1) -> Event:
    return on_request(CommentAdded(text=text), number, jurisdiction, AGENT, "agent", minutes)


def outbound(number: str, jurisdiction: str, payload, *, minutes: int = 1) -> Event:
    """An event of sending a request to its body (routing, attempts, references, imports)."""
    return on_request(payload, number, jurisdiction, SYSTEM, "outbound", minutes)


def service_defined(jurisdiction: str, code: str, name: str) -> Event:
    payload = ServiceDefined(service_code=code, service_name=name, group="Streets")
    return on_request(payload, None, jurisdiction, SYSTEM, "admin", -60)


def square(min_long: float, min_lat: float, size: float) -> dict:
    ring = [
        [min_long, min_lat],
        [min_long + size, min_lat],
        [min_long + size, min_lat + size],
        [min_long, min_lat + size],
        [min_long, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def area_defined(
    jurisdiction: str,
    area_id: str,
    geometry: dict,
    *,
    name: str | None = None,
    kind: str = "council_district",
) -> Event:
    payload = ServiceAreaDefined(
        area_id=area_id, name=name or area_id.title(), kind=kind, geometry=geometry, source="test boundaries"
    )
    return on_request(payload, None, jurisdiction, SYSTEM, "admin", -30)


def by_staff(number: str, jurisdiction: str, payload, *, minutes: float = 1, staff: str = "agent-7") -> Event:
    """An event of staff's work (contract 1.6), its actor the staff member."""
    return on_request(payload, number, jurisdiction, Actor(kind="agent", id=staff), "agent", minutes)


def assigned(
    number: str, jurisdiction: str, *, team: str | None, staff_id: str | None, minutes: float = 1
) -> Event:
    return by_staff(number, jurisdiction, RequestAssigned(team_id=team, staff_id=staff_id), minutes=minutes)


def closed_with_reason(
    number: str, jurisdiction: str, reason: str, *, referred_to: str | None = None, minutes: float = 1
) -> Event:
    payload = StatusChanged(
        status="closed", reason=reason, referred_to=referred_to, public_note=f"closed: {reason}"
    )
    return by_staff(number, jurisdiction, payload, minutes=minutes)


def reopened(number: str, jurisdiction: str, reason: str, *, minutes: float = 1) -> Event:
    payload = StatusChanged(status="open", previous_status="closed", reason=reason)
    return by_staff(number, jurisdiction, payload, minutes=minutes)


def commented(number: str, jurisdiction: str, text: str, visibility: str, *, minutes: float = 1) -> Event:
    return by_staff(number, jurisdiction, CommentAdded(text=text, visibility=visibility), minutes=minutes)


def visit_scheduled(
    number: str, jurisdiction: str, visit_id: str, starts_minutes: int, *, minutes: float = 1
):
    payload = VisitScheduled(
        visit_id=visit_id, starts_at=at(starts_minutes), duration_minutes=60, address="200 N Spring St"
    )
    return by_staff(number, jurisdiction, payload, minutes=minutes)


def visit_rescheduled(
    number: str, jurisdiction: str, visit_id: str, was: int, now: int, *, minutes: float = 1
):
    payload = VisitRescheduled(
        visit_id=visit_id,
        starts_at=at(now),
        duration_minutes=90,
        previous_starts_at=at(was),
        address="200 N Spring St",
    )
    return by_staff(number, jurisdiction, payload, minutes=minutes)


def visit_cancelled(number: str, jurisdiction: str, visit_id: str, was: int, *, minutes: float = 1):
    payload = VisitCancelled(visit_id=visit_id, starts_at=at(was), public_note="not needed")
    return by_staff(number, jurisdiction, payload, minutes=minutes)


def priority_changed(number: str, jurisdiction: str, priority: str, *, minutes: float = 1) -> Event:
    return by_staff(number, jurisdiction, PriorityChanged(priority=priority), minutes=minutes)


def category_changed(number: str, jurisdiction: str, new: str, old: str, *, minutes: float = 1) -> Event:
    payload = CategoryChanged(service_code=new, previous_service_code=old)
    return by_staff(number, jurisdiction, payload, minutes=minutes)
