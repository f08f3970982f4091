"""A queue of the test's own jurisdiction for the console's queue tests, put on the log as intake, routing and an
admin would put it: an SLA (potholes acknowledged within an hour and resolved within ten, around the clock; graffiti
without a target), two teams, and requests submitted at chosen times. A jurisdiction of its own keeps the SLA and
the teams from every other test sharing the run's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from civicloop_events import Actor, Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import CategorySla, OpeningHours, Routed, SlaClock, SlaDefined, Weekday
from civicloop_events.request_numbers import new_request_number
from civicloop_testing.events import request_event
from intake_harness import Harness

RESIDENT = Actor(kind="resident")
SYSTEM = Actor(kind="system", id="routing")
TEAMS = ("streets", "parks")


def new_jurisdiction() -> str:
    return f"q-{uuid4().hex[:10]}"


@dataclass(frozen=True)
class QueueRequests:
    late: str  # a pothole submitted three hours ago, never acknowledged, held by "streets"
    soon: str  # a pothole submitted 50 minutes ago: three quarters of its hour gone
    on_time: str  # a pothole submitted now
    no_target: str  # graffiti: no SLA target
    acknowledged: str  # a pothole acknowledged already

    def all(self) -> tuple[str, ...]:
        return (self.late, self.soon, self.on_time, self.no_target, self.acknowledged)


async def seed_queue(intake: Harness, jurisdiction: str) -> QueueRequests:
    now = datetime.now(UTC)
    sla = SlaDefined(
        time_zone="UTC",
        opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
        categories=[
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=60,
                resolve_within_minutes=600,
                clock=SlaClock.all_hours,
            )
        ],
        dormant_after_days=14,
    )
    admin = Actor(kind="system", id="staff-cli:tests")
    await intake.producer.publish(
        request_event(sla, request_id=None, actor=admin, source="admin", jurisdiction_id=jurisdiction),
        topic=intake.topics.jurisdiction_config,
    )
    await intake.staff(teams=dict.fromkeys(TEAMS, True), jurisdiction_id=jurisdiction)
    made = QueueRequests(*(new_request_number() for _ in range(5)))

    async def submitted(
        number: str, ago: timedelta, service_code: str = "pothole", street: str = "Main St"
    ) -> None:
        payload = ServiceRequestSubmitted(
            service_code=service_code,
            description=f"A {service_code} on {street}",
            location=Location(lat=34.05, long=-118.25, address_string=f"12 {street}"),
        )
        event = request_event(
            payload,
            request_id=number,
            actor=RESIDENT,
            source="web",
            jurisdiction_id=jurisdiction,
            occurred_at=now - ago,
        )
        await intake.producer.publish(event)

    await submitted(made.late, timedelta(hours=3), street="Oak Ave")
    await intake.producer.publish(
        request_event(
            Routed(team="streets", rules=["potholes"]),
            request_id=made.late,
            actor=SYSTEM,
            source="routing",
            jurisdiction_id=jurisdiction,
            occurred_at=now - timedelta(hours=3),
        )
    )
    await submitted(made.soon, timedelta(minutes=50), street="Elm St")
    await submitted(made.on_time, timedelta(minutes=1), street="Pine St")
    await submitted(made.no_target, timedelta(minutes=2), service_code="graffiti", street="Library Way")
    await submitted(made.acknowledged, timedelta(minutes=5), street="Cedar Rd")
    await intake.producer.publish(
        request_event(
            StatusChanged(status="acknowledged", previous_status="open", public_note="Seen"),
            request_id=made.acknowledged,
            actor=Actor(kind="agent", id="agent-7"),
            source="agent",
            jurisdiction_id=jurisdiction,
            occurred_at=now - timedelta(minutes=4),
        )
    )
    return made
