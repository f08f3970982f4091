"""The SLA clock, with time moved by `time-machine`: each event is written at the moved now, as the log would have
it, and the request is judged at the moved now, as a queue would judge it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    CategorySla,
    CommentAdded,
    CommentVisibility,
    EventPayload,
    Holiday,
    Location,
    OpeningHours,
    RequestStatus,
    Routed,
    ServiceRequestSubmitted,
    SlaClock,
    SlaDefined,
    SlaTargets,
    StatusChanged,
    Weekday,
)
from civicloop_sla.clock import (
    RequestClock,
    SlaPolicy,
    SlaState,
    SlaStatus,
    TargetStatus,
    clock_after,
    deadlines,
    evaluate,
    fold_clock,
)
from civicloop_testing.events import request_event
from hypothesis import given, settings
from hypothesis import strategies as st

CHICAGO = ZoneInfo("America/Chicago")
H = timedelta(hours=1)
WORKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]
RESIDENT = Actor(kind=ActorKind.resident, id="resident-1")
AGENT = Actor(kind=ActorKind.agent, id="0193a1b2-0000-7000-8000-00000000a001")

DEFINITION = SlaDefined(
    time_zone="America/Chicago",
    opening_hours=[OpeningHours(day=d, opens="08:00", closes="17:00") for d in WORKDAYS],
    holidays=[Holiday(date=date(2026, 11, 26), name="Thanksgiving Day")],
    categories=[
        CategorySla(
            service_code="pothole", acknowledge_within_minutes=4 * 60, resolve_within_minutes=16 * 60
        ),
        CategorySla(
            service_code="water_main_break",
            acknowledge_within_minutes=30,
            resolve_within_minutes=12 * 60,
            clock=SlaClock.all_hours,
        ),
        CategorySla(service_code="graffiti"),  # listed, with no promise
    ],
    default=SlaTargets(acknowledge_within_minutes=8 * 60),
    at_risk_at=0.75,
    dormant_after_days=14,
)
POLICY = SlaPolicy.of(DEFINITION)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


class Request:
    """One request's events, each written at the moved clock's now, and its SLA read at that now."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self.traveller = traveller
        self.events: list[Event] = []

    def at(self, instant: datetime) -> Request:
        self.traveller.move_to(instant)
        return self

    def happens(self, payload: EventPayload, actor: Actor = AGENT) -> Request:
        self.events.append(request_event(payload, request_id="1ABC-DEFG", actor=actor, source="agent"))
        return self

    def submitted(self, service_code: str) -> Request:
        payload = ServiceRequestSubmitted(
            service_code=service_code,
            description="a hole in the road",
            location=Location(lat=41.88, long=-87.63),
        )
        return self.happens(payload, actor=RESIDENT)

    def status(self, status: RequestStatus) -> Request:
        return self.happens(StatusChanged(status=status))

    @property
    def clock(self) -> RequestClock:
        clock = fold_clock(self.events)
        assert clock is not None
        return clock

    @property
    def sla(self) -> SlaStatus:
        return evaluate(self.clock, POLICY)


@contextmanager
def a_request(starting_at: datetime) -> Iterator[Request]:
    with time_machine.travel(starting_at, tick=False) as traveller:
        yield Request(traveller)


def test_a_weekend_does_not_count_towards_acknowledging():
    with a_request(local(2026, 11, 13, 15, 0)) as request:  # a Friday, 15:00
        request.submitted("pothole")
        assert request.sla.acknowledge.state is SlaState.due
        assert request.sla.acknowledge.due_at == local(
            2026, 11, 16, 10, 0
        )  # Monday: 2 h on Friday, 2 on Monday

        request.at(local(2026, 11, 15, 23, 0))  # Sunday night: two hours used, whatever the calendar says
        assert (request.sla.acknowledge.state, request.sla.acknowledge.counted) == (SlaState.due, 2 * H)

        request.at(local(2026, 11, 16, 9, 0))  # three of four hours: at risk
        assert request.sla.acknowledge.state is SlaState.at_risk
        assert request.sla.state is SlaState.at_risk

        request.at(local(2026, 11, 16, 10, 0, 1))
        assert request.sla.acknowledge.state is SlaState.breached
        assert request.sla.state is SlaState.breached

        request.at(local(2026, 11, 16, 11, 0)).status(RequestStatus.acknowledged)
        assert request.sla.acknowledge.state is SlaState.missed
        assert request.sla.resolve.state is SlaState.due  # the worse running target now leads
        assert request.sla.state is SlaState.due


def test_a_holiday_does_not_count():
    with a_request(local(2026, 11, 25, 15, 0)) as request:  # the day before Thanksgiving
        request.submitted("pothole")
        assert request.sla.acknowledge.due_at == local(2026, 11, 27, 10, 0)

        request.at(local(2026, 11, 26, 16, 0))  # Thanksgiving afternoon: still two hours used
        assert (request.sla.acknowledge.state, request.sla.acknowledge.counted) == (SlaState.due, 2 * H)

        request.at(local(2026, 11, 27, 9, 59)).status(RequestStatus.in_progress)
        assert request.sla.acknowledge.state is SlaState.met
        assert request.sla.acknowledge.counted == 3 * H + 59 * timedelta(minutes=1)


def test_closed_on_a_saturday_after_a_friday_deadline_missed_it():
    """No business hour passes between Friday 17:00 and Saturday, but the deadline did."""
    with a_request(local(2026, 11, 13, 13, 0)) as request:
        request.submitted("pothole")
        request.at(local(2026, 11, 14, 10, 0))
        assert request.sla.acknowledge.state is SlaState.breached
        request.status(RequestStatus.closed)
        assert request.sla.acknowledge.state is SlaState.missed
        assert request.sla.acknowledge.counted == 4 * H


def test_a_closed_then_reopened_request_resumes_its_resolution_clock_where_it_stopped():
    with a_request(local(2026, 11, 16, 8, 0)) as request:  # a Monday
        request.submitted("pothole")
        request.at(local(2026, 11, 16, 9, 0)).status(RequestStatus.acknowledged)
        request.at(local(2026, 11, 16, 16, 0)).status(RequestStatus.closed)
        assert (request.sla.resolve.state, request.sla.resolve.counted) == (SlaState.met, 8 * H)
        assert request.sla.state is SlaState.met

        request.at(local(2026, 11, 18, 8, 0))  # a day and a half closed: none of it counts
        assert request.sla.resolve.counted == 8 * H
        request.status(RequestStatus.open)  # reopened: the resident says it is not fixed
        assert request.sla.acknowledge.state is SlaState.met  # acknowledged once is acknowledged
        assert request.sla.resolve.due_at == local(2026, 11, 18, 16, 0)  # the 8 hours left

        request.at(local(2026, 11, 18, 12, 0))
        assert (request.sla.resolve.state, request.sla.resolve.counted) == (SlaState.at_risk, 12 * H)

        request.at(local(2026, 11, 18, 16, 30))
        assert request.sla.resolve.state is SlaState.breached
        assert not request.sla.dormant

        request.at(local(2026, 11, 19, 9, 0)).status(RequestStatus.closed)
        assert (request.sla.resolve.state, request.sla.resolve.counted) == (SlaState.missed, 18 * H)


def test_a_closure_said_again_later_keeps_the_first_closing_instant():
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.submitted("pothole")
        request.at(local(2026, 11, 16, 16, 0)).status(RequestStatus.closed)
        request.at(local(2026, 11, 25, 9, 0)).status(RequestStatus.closed)  # the back-end's own closure
        assert request.clock.closed_at == local(2026, 11, 16, 16, 0)
        assert request.sla.resolve.state is SlaState.met


def test_on_hold_pauses_the_resolution_clock():
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.submitted("pothole")
        request.at(local(2026, 11, 16, 10, 0)).status(RequestStatus.on_hold)  # waiting on the utility
        assert request.sla.acknowledge.state is SlaState.met
        request.at(local(2026, 11, 20, 16, 0))
        resolve = request.sla.resolve
        assert (resolve.state, resolve.counted, resolve.due_at) == (SlaState.due, 2 * H, None)

        request.at(local(2026, 11, 23, 8, 0)).status(RequestStatus.in_progress)
        assert request.sla.resolve.due_at == local(2026, 11, 24, 13, 0)  # 14 hours left from Monday 08:00


def test_all_hours_targets_count_nights_and_the_hour_the_clocks_fall_back():
    with a_request(local(2026, 10, 31, 20, 0)) as request:  # Saturday night, CDT
        request.submitted("water_main_break")
        # twelve real hours: the night of 1 November has 01:00-02:00 twice
        assert request.sla.resolve.due_at == local(2026, 11, 1, 7, 0)
        assert request.sla.acknowledge.due_at == local(2026, 10, 31, 20, 30)
        request.at(local(2026, 11, 1, 5, 0))
        assert (request.sla.resolve.state, request.sla.resolve.counted) == (SlaState.at_risk, 10 * H)


def test_business_hours_targets_across_the_spring_change_keep_wall_times():
    with a_request(local(2026, 3, 6, 16, 0)) as request:  # Friday, CST; Monday is CDT
        request.submitted("pothole")
        assert request.sla.acknowledge.due_at == local(2026, 3, 9, 11, 0)
        request.at(local(2026, 3, 9, 10, 30))
        assert (request.sla.acknowledge.state, request.sla.acknowledge.counted) == (SlaState.at_risk, 3.5 * H)


def test_a_category_without_an_entry_takes_the_default_and_a_listed_one_without_targets_has_none():
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.submitted("streetlight")
        assert request.sla.acknowledge.due_at == local(2026, 11, 16, 16, 0)
        assert request.sla.resolve is None
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.submitted("graffiti")
        assert request.sla.state is None


def test_a_recategorised_request_keeps_its_wait_under_its_new_targets():
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.submitted("streetlight")
        request.at(local(2026, 11, 16, 11, 0))
        assert request.sla.acknowledge.state is SlaState.due  # 3 of 8 hours
        recategorised = request.clock.recategorised("pothole")
        assert evaluate(recategorised, POLICY).acknowledge.state is SlaState.at_risk  # 3 of 4 hours


def test_a_request_nobody_touches_for_the_policy_days_is_dormant():
    with a_request(local(2026, 11, 2, 9, 0)) as request:
        request.submitted("graffiti")
        request.at(local(2026, 11, 12, 9, 0)).happens(
            CommentAdded(text="crew asked", visibility=CommentVisibility.internal)
        )
        request.at(local(2026, 11, 25, 9, 0)).happens(Routed(body_id="streets"))  # the system's, not activity
        assert not request.sla.dormant  # 13 days since the comment
        request.at(local(2026, 11, 26, 9, 0))
        assert request.sla.dormant  # 14 calendar days, Thanksgiving and weekends included
        request.status(RequestStatus.in_progress)
        assert not request.sla.dormant


def test_a_closed_request_is_never_dormant():
    with a_request(local(2026, 11, 2, 9, 0)) as request:
        request.submitted("graffiti").status(RequestStatus.closed)
        request.at(local(2027, 2, 1, 9, 0))
        assert not request.sla.dormant


def test_events_before_the_submission_or_that_the_clock_does_not_read_leave_it_alone():
    with a_request(local(2026, 11, 16, 8, 0)) as request:
        request.status(RequestStatus.acknowledged)
        assert clock_after(None, request.events[0]) is None
        request.submitted("pothole")
        before = request.clock
        request.at(local(2026, 11, 16, 9, 0)).happens(Routed(body_id="streets"))
        assert request.clock == before


def test_the_policy_reads_the_definition():
    assert POLICY.targets_for("pothole").resolve == 16 * H
    assert POLICY.targets_for("unknown").acknowledge == 8 * H
    assert POLICY.targets_for("graffiti").acknowledge is None
    assert POLICY.dormant_after == timedelta(days=14)
    assert SlaPolicy.of(DEFINITION.model_copy(update={"default": None})).targets_for("unknown") is None


@pytest.mark.parametrize(
    ("states", "overall"),
    [
        ((SlaState.met, SlaState.breached), SlaState.breached),
        ((SlaState.at_risk, SlaState.due), SlaState.at_risk),
        ((SlaState.missed, SlaState.due), SlaState.due),
        ((SlaState.met, SlaState.missed), SlaState.missed),
    ],
)
def test_the_overall_state_is_the_worse_target(states: tuple[SlaState, SlaState], overall: SlaState):
    acknowledge, resolve = (TargetStatus(s, H, H, None) for s in states)
    assert SlaStatus(acknowledge=acknowledge, resolve=resolve, dormant=False).state is overall


def test_the_deadlines_say_when_the_state_changes_without_judging_the_request():
    with a_request(local(2026, 11, 13, 15, 0)) as request:  # a Friday
        request.submitted("pothole")
        due = deadlines(request.clock, POLICY)
        assert (due.acknowledge.at_risk_from, due.acknowledge.due_at) == (
            local(2026, 11, 16, 9, 0),
            local(2026, 11, 16, 10, 0),
        )
        assert due.resolve.due_at == local(2026, 11, 17, 13, 0)  # 16 hours: Friday 2, Monday 9, Tuesday 5
        assert due.dormant_from == local(2026, 11, 27, 15, 0)
        assert due.state_at(local(2026, 11, 16, 9, 0)) is SlaState.at_risk
        assert due.state_at(local(2026, 11, 16, 10, 0, 1)) is SlaState.breached
        assert not due.dormant_at(local(2026, 11, 27, 14, 59)) and due.dormant_at(local(2026, 11, 27, 15, 0))
        request.at(local(2026, 11, 16, 9, 30)).status(RequestStatus.closed)
        due = deadlines(request.clock, POLICY)
        assert due.dormant_from is None
        assert due.acknowledge.done_at == due.resolve.done_at == local(2026, 11, 16, 9, 30)
        assert due.resolve.due_at is None  # the clock stopped with 12.5 hours of 16 left
        assert due.resolve.state_at(local(2027, 1, 1, 0, 0)) is SlaState.met


START = local(2026, 11, 13, 15, 0)
steps = st.lists(
    st.tuples(st.integers(min_value=0, max_value=5 * 24 * 60), st.sampled_from(list(RequestStatus))),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, looked_after=st.integers(min_value=0, max_value=40 * 24 * 60))
def test_the_states_agree_with_the_time_counted(steps: list[tuple[int, RequestStatus]], looked_after: int):
    """Whatever happens to a pothole: a running target is due while less than the at-risk share of it is counted,
    at risk from then, breached once more than all of it is; its due instant lies exactly the target away."""
    clock = RequestClock.submitted("pothole", START)
    at = START
    for minutes, status in steps:
        at += timedelta(minutes=minutes)
        clock = clock.status_changed(status, at)
    now = START + timedelta(minutes=looked_after)
    status = evaluate(clock, POLICY, now=now)
    for judged, done_at in ((status.acknowledge, clock.acknowledged_at), (status.resolve, clock.closed_at)):
        if done_at is not None and done_at <= now:
            assert judged.state in {SlaState.met, SlaState.missed}
            continue
        assert (judged.state is SlaState.due) == (judged.counted < judged.target * POLICY.at_risk_at)
        if judged.counted > judged.target:
            assert judged.state is SlaState.breached
        if judged.state is SlaState.breached:
            assert judged.counted >= judged.target
    acknowledge_due = status.acknowledge.due_at
    assert POLICY.targets_for("pothole").calendar.between(START, acknowledge_due) == 4 * H
