"""Outbound's folds (`service_layer/folds.py`) on in-memory rows: which write each configuration event makes, and
the external reference remembered from `ExternalReferenceAssigned`."""

from civicloop_events import Actor
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    BodyPaused,
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


class MemoryReferences(ExternalReferences):
    def __init__(self) -> None:
        self.kept: list[tuple[str, str, str, str]] = []

    async def remember(self, jurisdiction_id: str, body_id: str, external_id: str, request_id: str) -> None:
        self.kept.append((jurisdiction_id, body_id, external_id, request_id))


async def test_pause_and_resume_reach_their_rows_and_events_outbound_does_not_read_change_nothing():
    rows = MemoryConfigRows()
    for payload in (
        BodyPaused(body_id="works", reason="strike"),
        PartnerKeyRevoked(client_id="cityapp", key_id="k1"),
        BodyResumed(body_id="works"),
    ):
        await when_config_event_update_outbound_config(rows, _event(payload))
    assert rows.writes == ["pause works", "resume works"]


async def test_an_assigned_external_reference_is_remembered_for_its_request():
    refs = MemoryReferences()
    await when_external_reference_assigned_remember_it(
        refs, _event(ExternalReferenceAssigned(body_id="works", external_id="WO-1"), request_id="ABCD-1234")
    )
    await when_external_reference_assigned_remember_it(
        refs, _event(StatusChanged(status="closed"), "ABCD-1234")
    )
    assert refs.kept == [(CITY, "works", "WO-1", "ABCD-1234")]
