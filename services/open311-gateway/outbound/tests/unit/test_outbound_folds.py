"""Outbound's folds (`service_layer/folds.py`) on in-memory rows: which write each configuration event makes, and
the external reference remembered from `ExternalReferenceAssigned`."""

from datetime import UTC, datetime

from civicloop_events import Actor
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    BodyPaused,
    BodyPollFailing,
    BodyPollNudged,
    BodyResumed,
    ExternalReferenceAssigned,
    PartnerKeyRevoked,
    StatusChanged,
)
from civicloop_outbound.service_layer.folds import (
    ExternalReferences,
    OutboundConfigRows,
    when_config_event_update_outbound_config,
    when_external_reference_assigned_remember_it,
    when_external_references_assigned_remember_them,
)
from civicloop_testing.events import request_event

CITY = "springfield.example.gov"
TESTS = Actor(kind=ActorKind.system, id="tests")


def _event(payload, request_id: str | None = None):
    return request_event(payload, request_id=request_id, actor=TESTS, source="admin", jurisdiction_id=CITY)


class MemoryConfigRows(OutboundConfigRows):
    def __init__(self) -> None:
        self.writes: list[str] = []

    async def save_body(self, event) -> None:
        self.writes.append(f"body {event.payload.body_id}")

    async def pause_body(self, event) -> None:
        self.writes.append(f"pause {event.payload.body_id}")

    async def resume_body(self, event) -> None:
        self.writes.append(f"resume {event.payload.body_id}")

    async def replace_rules(self, event) -> None:
        self.writes.append("rules")

    async def save_service(self, event) -> None:
        self.writes.append(f"service {event.payload.service_code}")

    async def save_area(self, event) -> None:
        self.writes.append(f"area {event.payload.area_id}")

    async def nudge_poll(self, event) -> None:
        self.writes.append(f"nudge {event.payload.body_id}")


class MemoryReferences(ExternalReferences):
    def __init__(self) -> None:
        self.kept: list[tuple[str, str, str, str]] = []

    async def remember(self, references) -> None:
        known = {r[:3] for r in self.kept}
        for reference in references:  # the first one of a (jurisdiction, body, id) stays
            if reference[:3] not in known:
                known.add(reference[:3])
                self.kept.append(reference)


async def test_pause_resume_and_nudge_reach_their_rows_and_events_outbound_does_not_read_change_nothing():
    rows = MemoryConfigRows()
    since = datetime(2026, 12, 5, 9, tzinfo=UTC)
    for payload in (
        BodyPaused(body_id="works", reason="strike"),
        PartnerKeyRevoked(client_id="cityapp", key_id="k1"),
        BodyResumed(body_id="works"),
        BodyPollFailing(body_id="works", failing_since=since, failures=3, error="HTTP 503"),
        BodyPollNudged(body_id="works", failing_since=since),
    ):
        await when_config_event_update_outbound_config(rows, _event(payload))
    assert rows.writes == ["pause works", "resume works", "nudge works"]


async def test_an_assigned_external_reference_is_remembered_for_its_request():
    refs = MemoryReferences()
    await when_external_reference_assigned_remember_it(
        refs, _event(ExternalReferenceAssigned(body_id="works", external_id="WO-1"), request_id="ABCD-1234")
    )
    await when_external_reference_assigned_remember_it(
        refs, _event(StatusChanged(status="closed"), "ABCD-1234")
    )
    assert refs.kept == [(CITY, "works", "WO-1", "ABCD-1234")]


async def test_remembering_a_batch_of_references_at_once_equals_remembering_them_one_by_one():
    events = [
        _event(ExternalReferenceAssigned(body_id="works", external_id="WO-1"), request_id="A-1"),
        _event(StatusChanged(status="closed"), "A-1"),
        _event(ExternalReferenceAssigned(body_id="parks", external_id="P-9"), request_id="B-2"),
        _event(
            ExternalReferenceAssigned(body_id="works", external_id="WO-1"), request_id="C-3"
        ),  # taken: A-1's
        _event(ExternalReferenceAssigned(body_id="works", external_id="WO-2"), request_id=None),
    ]
    one_by_one, at_once = MemoryReferences(), MemoryReferences()
    for event in events:
        await when_external_reference_assigned_remember_it(one_by_one, event)
    await when_external_references_assigned_remember_them(at_once, events)
    assert at_once.kept == one_by_one.kept == [(CITY, "works", "WO-1", "A-1"), (CITY, "parks", "P-9", "B-2")]
