"""The staff-command handler over in-memory ports: kept before published, retries, one command at a time per
request, commands accepted but not folded yet counted, bulk."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import RequestStatus
from civicloop_intake.domain.submissions import IdempotencyKeyReused
from civicloop_intake.domain.work_commands import (
    Acknowledge,
    Close,
    Comment,
    Reopen,
    WorkProblem,
    WorkRejected,
)
from civicloop_intake.domain.work_policy import DEFAULT_POLICY
from civicloop_intake.domain.worked_requests import WorkedRequest
from civicloop_intake.service_layer.ports import EventLogUnavailable
from civicloop_intake.service_layer.work import WorkContext, do_bulk, do_work
from civicloop_staff.roles import Role, StaffPrincipal
from intake_fakes import FakeCatalogue, FakeEventLog, FakeStaffWork

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
A, B = "AAAA-0001", "BBBB-0002"
AGENT = StaffPrincipal(uuid.uuid4(), "demo", frozenset({Role.agent}), frozenset(), "session-1")


@pytest.fixture
def world():
    work = FakeStaffWork()
    for n in (A, B):
        work.states[n] = WorkedRequest(n, "demo", "pothole", RequestStatus.open, T0)
    log = FakeEventLog()
    return work, log, WorkContext(work, FakeCatalogue(), log, DEFAULT_POLICY, wait_s=0.05)


async def test_a_command_is_kept_then_published_with_the_staff_member_as_actor(world):
    work, log, ctx = world
    receipt = await do_work(Acknowledge(), number="aaaa-0001", staff=AGENT, idempotency_key="k1", ctx=ctx)
    [event] = log.events
    assert (receipt.request_number, receipt.event_type, receipt.created) == (
        A,
        "request.status.changed",
        True,
    )
    assert (event.actor.kind.value, event.actor.id, event.source) == ("agent", str(AGENT.staff_id), "agent")
    assert work.entries["k1"].published and work.rows["k1"].event_id == event.event_id


async def test_a_retry_answers_again_and_a_reused_key_is_refused(world):
    _, log, ctx = world
    first = await do_work(Acknowledge(), number=A, staff=AGENT, idempotency_key="k1", ctx=ctx)
    again = await do_work(Acknowledge(), number=A, staff=AGENT, idempotency_key="k1", ctx=ctx)
    assert (again.event_id, again.created, len(log.events)) == (first.event_id, False, 1)
    with pytest.raises(IdempotencyKeyReused):
        await do_work(Close(reason="fixed"), number=A, staff=AGENT, idempotency_key="k1", ctx=ctx)


async def test_a_command_accepted_but_not_folded_counts_for_the_next(world):
    _, log, ctx = world
    await do_work(Close(reason="fixed"), number=A, staff=AGENT, idempotency_key="k1", ctx=ctx)
    with pytest.raises(WorkRejected) as exc:
        await do_work(Acknowledge(), number=A, staff=AGENT, idempotency_key="k2", ctx=ctx)
    assert exc.value.problem is WorkProblem.closed
    await do_work(Reopen(reason="not_fixed"), number=A, staff=AGENT, idempotency_key="k3", ctx=ctx)
    assert [e.payload.status for e in log.events] == [RequestStatus.closed, RequestStatus.open]


async def test_two_agents_closing_at_once_close_once(world):
    _, log, ctx = world
    outcomes = await asyncio.gather(
        do_work(Close(reason="fixed"), number=A, staff=AGENT, idempotency_key="a", ctx=ctx),
        do_work(Close(reason="duplicate"), number=A, staff=AGENT, idempotency_key="b", ctx=ctx),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["WorkReceipt", "WorkRejected"]
    assert len(log.events) == 1


async def test_a_command_the_log_did_not_take_is_published_first_by_the_next_on_that_request(world):
    work, log, ctx = world
    log.down = True
    with pytest.raises(EventLogUnavailable):
        await do_work(Acknowledge(), number=A, staff=AGENT, idempotency_key="k1", ctx=ctx)
    assert not work.entries["k1"].published  # kept: nothing accepted is lost
    log.down = False
    await do_work(
        Comment(text="on it", visibility="public"), number=A, staff=AGENT, idempotency_key="k2", ctx=ctx
    )
    assert [e.type for e in log.events] == ["request.status.changed", "request.comment.added"]


async def test_bulk_gives_each_request_its_event_and_a_result_and_repeats_nothing(world):
    _, log, ctx = world
    items = await do_bulk(
        Acknowledge(), numbers=[A, B, "ZZZZ-9999", "nope"], staff=AGENT, idempotency_key="k", ctx=ctx
    )
    assert [(i.request_number, i.problem) for i in items] == [
        (A, None),
        (B, None),
        ("ZZZZ-9999", WorkProblem.unknown_request),
        ("nope", WorkProblem.unknown_request),
    ]
    again = await do_bulk(Acknowledge(), numbers=[A, B], staff=AGENT, idempotency_key="k", ctx=ctx)
    assert [i.receipt.created for i in again] == [False, False] and len(log.events) == 2
    assert {e.request_id for e in log.events} == {A, B}
