"""The SLA read model's fold and handlers, without IO: requests' clocks from their events, their rows under the
jurisdiction's latest definition, with time moved by `time-machine` (each event written at the moved now)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    CategoryChanged,
    CategorySla,
    CommentAdded,
    CommentVisibility,
    EventPayload,
    Holiday,
    Location,
    MergedAsDuplicate,
    OpeningHours,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    Routed,
    ServiceRequestSubmitted,
    SlaDefined,
    StatusChanged,
    Weekday,
)
from civicloop_projections.domain.sla_fold import (
    RequestSla,
    SlaRow,
    clock_from_json,
    clock_to_json,
    fold_requests,
    policy_of,
    sla_row,
)
from civicloop_projections.service_layer.sla_handlers import (
    SlaStore,
    when_request_events_update_sla,
    when_sla_defined_update_sla,
)
from civicloop_sla.clock import SlaPolicy, SlaState
from civicloop_testing.events import request_event

CHICAGO = ZoneInfo("America/Chicago")
H = timedelta(hours=1)
J = "springfield"
RESIDENT = Actor(kind=ActorKind.resident, id="resident-1")
AGENT = Actor(kind=ActorKind.agent, id="0193a1b2-0000-7000-8000-00000000a001")
WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]


def definition(pothole_ack_minutes: int = 4 * 60, **overrides: Any) -> SlaDefined:
    values: dict[str, Any] = {
        "time_zone": "America/Chicago",
        "opening_hours": [OpeningHours(day=d, opens="08:00", closes="17:00") for d in WORKDAYS],
        "holidays": [Holiday(date=date(2026, 11, 26), name="Thanksgiving Day")],
        "categories": [
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=pothole_ack_minutes,
                resolve_within_minutes=16 * 60,
            ),
            CategorySla(service_code="streetlight", acknowledge_within_minutes=2 * 60),
        ],
        "dormant_after_days": 14,
    }
    return SlaDefined(**{**values, **overrides})


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


def config_event(payload: SlaDefined) -> Event[Any]:
    return Event.create(payload, request_id=None, jurisdiction_id=J, actor=AGENT, source="admin")


def on(number: str, payload: EventPayload, actor: Actor = AGENT, jurisdiction: str = J) -> Event[Any]:
    return request_event(
        payload, request_id=number, actor=actor, source="agent", jurisdiction_id=jurisdiction
    )


def submitted(number: str, service_code: str = "pothole", jurisdiction: str = J) -> Event[Any]:
    payload = ServiceRequestSubmitted(
        service_code=service_code, description="a hole", location=Location(lat=41.88, long=-87.63)
    )
    return on(number, payload, actor=RESIDENT, jurisdiction=jurisdiction)


class MemorySlaStore(SlaStore):
    """The SLA tables as dictionaries."""

    def __init__(self) -> None:
        self.definitions: dict[str, SlaDefined] = {}
        self.rows: dict[str, SlaRow] = {}

    async def lock_shared(self, jurisdictions: Collection[str]) -> None:
        pass

    async def lock_exclusive(self, jurisdiction_id: str) -> None:
        pass

    def _request(self, row: SlaRow) -> RequestSla:
        # Through JSON, as the database keeps it.
        return RequestSla(row.request_number, row.jurisdiction_id, clock_from_json(clock_to_json(row.clock)))

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, RequestSla]:
        return {n: self._request(self.rows[n]) for n in request_numbers if n in self.rows}

    async def load_jurisdiction_for_update(self, jurisdiction_id: str) -> list[RequestSla]:
        return [self._request(r) for r in self.rows.values() if r.jurisdiction_id == jurisdiction_id]

    async def policies(self, jurisdictions: Collection[str]) -> dict[str, SlaPolicy]:
        return {j: SlaPolicy.of(d) for j, d in self.definitions.items() if j in jurisdictions}

    async def define(self, event: Event[Any]) -> None:
        self.definitions[event.jurisdiction_id] = event.payload

    async def save(self, rows: Sequence[SlaRow]) -> None:
        self.rows.update((r.request_number, r) for r in rows)


def apply(store: MemorySlaStore, *events: Event[Any]) -> None:
    """Each event as its consumer applies it: requests' events in batches, definitions one at a time."""
    for event in events:
        if event.request_id is None:
            asyncio.run(when_sla_defined_update_sla(store, event))
        else:
            asyncio.run(when_request_events_update_sla(store, [event]))


@pytest.fixture
def traveller():
    with time_machine.travel(local(2026, 11, 13, 15, 0), tick=False) as t:  # a Friday, 15:00
        yield t


def test_a_stored_row_crosses_a_weekend_in_business_hours(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0001"))
    row = store.rows["AAAA-0001"]
    assert row.acknowledge.due_at == local(2026, 11, 16, 10, 0)  # 2 h on Friday, 2 on Monday
    assert row.acknowledge.at_risk_from == local(2026, 11, 16, 9, 0)
    assert row.resolve.due_at == local(2026, 11, 17, 13, 0)  # 16 h: Friday 2, Monday 9, Tuesday 5
    assert (row.acknowledge.minutes, row.resolve.minutes) == (240, 960)

    # Nothing happens on the request: the row stays, the state moves with now.
    assert row.state_at(local(2026, 11, 15, 23, 0)) is SlaState.due  # Sunday night
    assert row.state_at(local(2026, 11, 16, 9, 0)) is SlaState.at_risk
    assert row.state_at(local(2026, 11, 16, 10, 0, 1)) is SlaState.breached

    traveller.move_to(local(2026, 11, 16, 11, 0))
    apply(store, on("AAAA-0001", StatusChanged(status=RequestStatus.acknowledged)))
    row = store.rows["AAAA-0001"]
    assert row.acknowledge.done_at == local(2026, 11, 16, 11, 0)
    assert row.acknowledge.state_at(local(2026, 11, 16, 11, 0)) is SlaState.missed
    assert row.state_at(local(2026, 11, 16, 11, 0)) is SlaState.due  # the running resolution target leads


def test_a_stored_row_skips_a_holiday(traveller):
    traveller.move_to(local(2026, 11, 25, 15, 0))  # the day before Thanksgiving
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0002"))
    row = store.rows["AAAA-0002"]
    assert row.acknowledge.due_at == local(2026, 11, 27, 10, 0)
    assert row.state_at(local(2026, 11, 26, 16, 0)) is SlaState.due  # Thanksgiving afternoon

    traveller.move_to(local(2026, 11, 27, 9, 59))
    apply(store, on("AAAA-0002", StatusChanged(status=RequestStatus.in_progress)))
    assert store.rows["AAAA-0002"].acknowledge.state_at(local(2026, 11, 30, 9, 0)) is SlaState.met


def test_on_hold_pauses_resolution_and_the_stored_due_instant_waits(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0003"))
    traveller.move_to(local(2026, 11, 16, 9, 0))
    apply(store, on("AAAA-0003", StatusChanged(status=RequestStatus.on_hold)))
    row = store.rows["AAAA-0003"]
    assert row.resolve.due_at is None  # paused short of the target: no instant to fall due at
    assert row.resolve.state_at(local(2026, 12, 31, 9, 0)) is SlaState.due
    traveller.move_to(local(2026, 11, 23, 8, 0))  # a week later, work resumes: 3 h counted, 13 h left
    apply(store, on("AAAA-0003", StatusChanged(status=RequestStatus.in_progress)))
    assert store.rows["AAAA-0003"].resolve.due_at == local(2026, 11, 24, 12, 0)


def test_the_rows_do_not_depend_on_whether_the_definition_came_first(traveller):
    events = [submitted("AAAA-0004"), submitted("AAAA-0005", "streetlight")]
    traveller.move_to(local(2026, 11, 16, 9, 0))
    events.append(on("AAAA-0004", StatusChanged(status=RequestStatus.acknowledged)))
    traveller.move_to(local(2026, 11, 16, 10, 0))
    events.append(on("AAAA-0005", CommentAdded(text="on it", visibility=CommentVisibility.internal)))
    sla = config_event(definition())

    first, last = MemorySlaStore(), MemorySlaStore()
    apply(first, sla, *events)
    apply(last, *events)
    assert {r.acknowledge.due_at for r in last.rows.values()} == {None}  # no definition yet: no targets
    apply(last, sla)
    assert first.rows == last.rows
    assert first.rows["AAAA-0005"].dormant_from == local(2026, 11, 30, 10, 0)


def test_a_new_definition_recomputes_its_jurisdictions_requests(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0006"))
    assert store.rows["AAAA-0006"].acknowledge.due_at == local(2026, 11, 16, 10, 0)
    apply(store, config_event(definition(pothole_ack_minutes=60)))
    assert store.rows["AAAA-0006"].acknowledge.due_at == local(2026, 11, 13, 16, 0)
    assert store.rows["AAAA-0006"].acknowledge.minutes == 60


def test_a_definition_with_a_time_zone_unknown_here_keeps_the_policy_it_had(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0007"))
    before = store.rows["AAAA-0007"]
    unknown = definition(pothole_ack_minutes=60, time_zone="Mars/Olympus_Mons")
    assert policy_of(unknown) is None
    apply(store, config_event(unknown))
    assert store.rows["AAAA-0007"] == before
    assert store.definitions[J].time_zone == "America/Chicago"


def test_a_category_change_applies_the_new_targets_and_keeps_the_time_counted(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0008"))
    traveller.move_to(local(2026, 11, 13, 16, 0))  # one business hour used
    apply(
        store, on("AAAA-0008", CategoryChanged(service_code="streetlight", previous_service_code="pothole"))
    )
    row = store.rows["AAAA-0008"]
    assert row.service_code == "streetlight"
    assert row.acknowledge.due_at == local(2026, 11, 13, 17, 0)  # 2 h from the submission, Friday's closing
    assert row.resolve.minutes is None and row.state_at(local(2026, 11, 16, 8, 0)) is SlaState.breached
    assert row.dormant_from == local(2026, 11, 27, 16, 0)  # a staff action is activity

    apply(
        store, on("AAAA-0008", CategoryChanged(service_code="graffiti", previous_service_code="streetlight"))
    )
    row = store.rows["AAAA-0008"]
    assert (row.acknowledge.minutes, row.resolve.minutes) == (None, None)  # not listed, no default
    assert row.state_at(local(2026, 11, 16, 8, 0)) is None


def test_a_merged_duplicate_is_settled_at_its_merge(traveller):
    store = MemorySlaStore()
    apply(store, config_event(definition()), submitted("AAAA-0011"))
    traveller.move_to(local(2026, 11, 16, 11, 0))  # after its acknowledgement fell due
    apply(store, on("AAAA-0011", MergedAsDuplicate(original_request_id="AAAA-0001")))
    row = store.rows["AAAA-0011"]
    assert (row.acknowledge.done_at, row.resolve.done_at) == (local(2026, 11, 16, 11, 0),) * 2
    later = local(2026, 12, 31, 9, 0)
    assert row.acknowledge.state_at(later) is SlaState.missed and row.resolve.state_at(later) is SlaState.met
    assert row.state_at(later) is SlaState.missed and not row.dormant_at(later)


def test_work_events_are_activity_and_other_events_write_nothing(traveller):
    known: dict[str, RequestSla] = {}
    start = fold_requests(known, [submitted("AAAA-0009")])
    assert list(start) == ["AAAA-0009"]
    traveller.move_to(local(2026, 11, 14, 12, 0))
    routed = on("AAAA-0009", Routed(body_id="streets", priority="high"))
    assert fold_requests(start, [routed]) == {}  # routing is the platform, not activity
    for payload in (RequestAssigned(team_id="roads"), PriorityChanged(priority="high")):
        [(number, after)] = fold_requests(start, [on("AAAA-0009", payload)]).items()
        assert number == "AAAA-0009" and after.clock.last_activity_at == local(2026, 11, 14, 12, 0)
    orphan = on("ZZZZ-0000", StatusChanged(status=RequestStatus.closed))
    assert fold_requests(start, [orphan]) == {}  # no submission, no clock


def test_a_clock_survives_json_as_it_was(traveller):
    events = [submitted("AAAA-0010")]
    for hours, status in (
        (1, "acknowledged"),
        (2, "on_hold"),
        (3, "in_progress"),
        (4, "closed"),
        (30, "open"),
    ):
        traveller.move_to(local(2026, 11, 13, 15, 0) + hours * H)
        events.append(on("AAAA-0010", StatusChanged(status=RequestStatus(status))))
    [request] = fold_requests({}, events).values()
    assert len(request.clock.ran) == 2 and request.clock.running_since is not None
    assert clock_from_json(clock_to_json(request.clock)) == request.clock
    policy = SlaPolicy.of(definition())
    assert sla_row(request, policy).resolve.due_at is not None
    assert sla_row(request, None).acknowledge.minutes is None


def test_a_batch_gives_the_rows_its_events_give_one_at_a_time(traveller):
    """The consumer folds a partition's batch in one call, or one event at a time after a failed batch: the same
    rows either way, for several requests of several jurisdictions."""
    other = "shelbyville"
    events = [
        config_event(definition()),
        Event.create(definition(60), request_id=None, jurisdiction_id=other, actor=AGENT, source="admin"),
    ]
    requests = [submitted("BBBB-0001"), submitted("BBBB-0002", jurisdiction=other)]
    for hours, (number, value) in enumerate(
        [
            ("BBBB-0001", "acknowledged"),
            ("BBBB-0002", "on_hold"),
            ("BBBB-0001", "closed"),
            ("BBBB-0002", "open"),
        ]
    ):
        traveller.shift(timedelta(hours=hours + 1))
        jurisdiction = J if number == "BBBB-0001" else other
        requests.append(on(number, StatusChanged(status=RequestStatus(value)), jurisdiction=jurisdiction))
    one_by_one, batched = MemorySlaStore(), MemorySlaStore()
    apply(one_by_one, *events, *requests)
    apply(batched, *events)
    asyncio.run(when_request_events_update_sla(batched, requests))
    assert batched.rows == one_by_one.rows
    assert batched.rows["BBBB-0002"].jurisdiction_id == other
    assert batched.rows["BBBB-0002"].acknowledge.minutes == 60
