"""The rules of staff commands against a request's state, and the state folded from the log (no IO)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from civicloop_events import Actor, Event, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    Location,
    MergedAsDuplicate,
    Priority,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    Routed,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_events.payloads.staff import DisableReason
from civicloop_intake.domain.assignees import Assignee
from civicloop_intake.domain.work_commands import (
    Acknowledge,
    Assign,
    CancelVisit,
    ChangeCategory,
    ChangePriority,
    ChangeStatus,
    Circumstances,
    Close,
    Comment,
    Reopen,
    RescheduleVisit,
    ScheduleVisit,
    WorkProblem,
    WorkRejected,
    command_hash,
    decide,
)
from civicloop_intake.domain.work_policy import DEFAULT_POLICY, ReplyTemplate, WorkPolicy, load_policy
from civicloop_intake.domain.worked_requests import Visit, WorkedRequest, fold, fold_many
from civicloop_staff.accounts import StaffAccount
from civicloop_staff.roles import Role
from pydantic import ValidationError

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
AT = Circumstances(now=NOW, policy=DEFAULT_POLICY, new_visit_id="v-1")
N = "AAAA-0001"
OPEN = WorkedRequest(N, "demo", "pothole", RequestStatus.open, NOW, address="100 block of Main St")
VISIT = Visit("v-1", NOW + timedelta(days=1), 60, "100 block of Main St")


def state(**changes) -> WorkedRequest:
    from dataclasses import replace

    return replace(OPEN, **changes)


def refused(cmd, st=OPEN, at=AT, jurisdiction="demo") -> WorkProblem:
    with pytest.raises(WorkRejected) as exc:
        decide(cmd, st, number=N, jurisdiction_id=jurisdiction, at=at)
    return exc.value.problem


def made(cmd, st=OPEN, at=AT):
    return decide(cmd, st, number=N, jurisdiction_id="demo", at=at)


# -- which requests a command may touch --------------------------------------------------------------------------------


def test_an_unknown_request_or_another_jurisdictions_is_unknown():
    assert refused(Acknowledge(), None) is WorkProblem.unknown_request
    assert refused(Acknowledge(), jurisdiction="springfield") is WorkProblem.unknown_request


def test_a_merged_duplicate_is_worked_through_its_original():
    assert (
        refused(Comment(text="hi", visibility="public"), state(merged_into="BBBB-0002")) is WorkProblem.merged
    )


def test_a_closed_request_takes_only_comments_a_visit_cancelled_and_a_reopen():
    closed = state(status=RequestStatus.closed)
    for cmd in (
        Acknowledge(),
        ChangeStatus(status="in_progress"),
        Close(reason="fixed"),
        Assign(team_id="streets"),
        ScheduleVisit(starts_at=NOW + timedelta(hours=2), duration_minutes=30),
        ChangePriority(priority="high"),
        ChangeCategory(service_code="graffiti"),
    ):
        assert refused(cmd, closed) is WorkProblem.closed, cmd
    assert isinstance(made(Comment(text="We will check again", visibility="public"), closed), CommentAdded)
    assert made(Reopen(reason="not_fixed"), closed).status is RequestStatus.open
    closed_with_a_visit = state(status=RequestStatus.closed, visits=(VISIT,))
    assert refused(
        RescheduleVisit(visit_id="v-1", starts_at=NOW + timedelta(days=3)), closed_with_a_visit
    ) is (WorkProblem.closed)
    assert isinstance(made(CancelVisit(visit_id="v-1"), closed_with_a_visit), VisitCancelled)


# -- status ------------------------------------------------------------------------------------------------------------


def test_acknowledge_moves_an_open_request_only():
    event = made(Acknowledge(public_note="Seen, thanks"))
    assert (event.status, event.previous_status, event.public_note) == (
        RequestStatus.acknowledged,
        RequestStatus.open,
        "Seen, thanks",
    )
    assert refused(Acknowledge(), state(status=RequestStatus.in_progress)) is WorkProblem.not_open


def test_a_status_change_must_change_the_status_and_cannot_close():
    assert made(ChangeStatus(status="on_hold")).status is RequestStatus.on_hold
    assert refused(ChangeStatus(status="acknowledged"), state(status=RequestStatus.acknowledged)) is (
        WorkProblem.no_change
    )
    with pytest.raises(ValidationError):
        ChangeStatus(status="closed")


def test_close_needs_a_reason_of_the_list_and_a_referral_exactly_when_the_reason_asks():
    fixed = made(Close(reason="fixed", public_note="Filled"))
    assert (fixed.status, fixed.previous_status, fixed.reason, fixed.referred_to) == (
        RequestStatus.closed,
        RequestStatus.open,
        "fixed",
        None,
    )
    referred = made(Close(reason="not_ours", referred_to="State DOT"))
    assert (referred.reason, referred.referred_to) == ("not_ours", "State DOT")
    assert refused(Close(reason="bored")) is WorkProblem.unknown_reason
    assert refused(Close(reason="not_ours")) is WorkProblem.referral_needed
    assert refused(Close(reason="fixed", referred_to="State DOT")) is WorkProblem.referral_not_expected
    with pytest.raises(ValidationError):
        Close(reason="Not A Code")


def test_reopen_needs_a_closed_request_and_a_reopen_reason():
    closed = state(status=RequestStatus.closed)
    event = made(Reopen(reason="recurred", public_note="It is back"), closed)
    assert (event.status, event.previous_status, event.reason) == (
        RequestStatus.open,
        RequestStatus.closed,
        "recurred",
    )
    assert refused(Reopen(reason="recurred")) is WorkProblem.not_closed
    assert refused(Reopen(reason="fixed"), closed) is WorkProblem.unknown_reason


def test_a_configured_list_replaces_the_default(tmp_path):
    path = tmp_path / "work.json"
    path.write_text(
        '{"close_reasons": [{"code": "done", "label": "Done"}],'
        ' "reopen_reasons": [{"code": "again", "label": "Again"}]}'
    )
    policy = load_policy(str(path))
    at = Circumstances(now=NOW, policy=policy, new_visit_id="v-1")
    assert made(Close(reason="done"), at=at).reason == "done"
    assert refused(Close(reason="fixed"), at=at) is WorkProblem.unknown_reason
    assert load_policy(None) is DEFAULT_POLICY


# -- templates ---------------------------------------------------------------------------------------------------------


def test_a_template_fills_the_public_note_for_its_action_and_category():
    event = made(Close(reason="not_ours", referred_to="State DOT", template_id="close-not-ours"))
    assert event.public_note == "This is not ours to fix: we passed report AAAA-0001 to State DOT."
    ack = made(Acknowledge(template_id="ack-default"))
    assert ack.public_note == "Thank you: we received report AAAA-0001 and will look into it."


def test_a_template_of_another_action_or_category_or_beside_a_note_is_refused():
    graffiti_only = WorkPolicy(
        close_reasons=DEFAULT_POLICY.close_reasons,
        reopen_reasons=DEFAULT_POLICY.reopen_reasons,
        templates=(ReplyTemplate(template_id="g", action="acknowledge", service_code="graffiti", text="Hi"),),
    )
    at = Circumstances(now=NOW, policy=graffiti_only, new_visit_id="v-1")
    assert refused(Acknowledge(template_id="g"), at=at) is WorkProblem.unknown_template
    assert refused(Close(reason="fixed", template_id="ack-default")) is WorkProblem.unknown_template
    assert refused(Acknowledge(template_id="ack-default", public_note="x")) is WorkProblem.unknown_template


def test_a_comment_takes_its_text_from_a_comment_template_or_is_written():
    at = replace(
        AT,
        policy=DEFAULT_POLICY.model_copy(
            update={
                "templates": (
                    ReplyTemplate(
                        template_id="crew", action="comment", text="A crew is on {request_number}."
                    ),
                )
            }
        ),
    )
    public = made(Comment(template_id="crew", visibility="public"), at=at)
    assert isinstance(public, CommentAdded) and public.text == f"A crew is on {N}."
    assert refused(Comment(template_id="crew", text="x", visibility="public"), at=at) is (
        WorkProblem.unknown_template
    )
    assert refused(Comment(template_id="ack-default", visibility="public")) is WorkProblem.unknown_template
    with pytest.raises(ValidationError):
        Comment(visibility="public")  # neither a text nor a template


def test_a_template_with_an_unknown_placeholder_is_refused_at_load():
    with pytest.raises(ValidationError):
        ReplyTemplate(template_id="t", action="close", text="Dear {resident_name}")


# -- assignment, priority, category ------------------------------------------------------------------------------------


STREETS = Circumstances(
    now=NOW, policy=DEFAULT_POLICY, new_visit_id="v-1", assignee=Assignee(team_active=True)
)
AGENT_ID = UUID("0193a1c2-7d4e-7000-8000-00000000a077")


def knowing(account: StaffAccount | None, *, team_active: bool = True) -> Circumstances:
    return replace(AT, assignee=Assignee(team_active=team_active, account=account))


def test_assign_names_someone_and_changes_something():
    event = made(Assign(team_id="streets", note="crew B"), at=STREETS)
    assert isinstance(event, RequestAssigned)
    assert (event.team_id, event.staff_id, event.previous_team_id) == ("streets", None, None)
    assert refused(Assign()) is WorkProblem.no_change
    assert refused(Assign(team_id="streets"), state(team_id="streets")) is WorkProblem.no_change


def test_an_assignment_names_a_team_of_the_jurisdiction_and_an_active_member_of_it_who_works_requests():
    agent = StaffAccount(AGENT_ID, (Role.agent,), ("parks", "streets"))
    both = Assign(team_id="streets", staff_id=str(AGENT_ID))
    assert isinstance(made(both, at=knowing(agent)), RequestAssigned)
    assert isinstance(
        made(Assign(staff_id=str(AGENT_ID)), at=knowing(agent, team_active=False)), RequestAssigned
    )
    supervisor = StaffAccount(AGENT_ID, (Role.supervisor,), ("streets",))
    assert isinstance(made(both, at=knowing(supervisor)), RequestAssigned)

    assert refused(Assign(team_id="streets"), at=knowing(None, team_active=False)) is WorkProblem.unknown_team
    assert refused(both, at=knowing(agent, team_active=False)) is WorkProblem.unknown_team
    assert refused(Assign(staff_id=str(AGENT_ID)), at=knowing(None)) is WorkProblem.unknown_staff
    disabled = replace(agent, disabled=DisableReason.left)
    assert refused(both, at=knowing(disabled)) is WorkProblem.staff_disabled
    auditor = StaffAccount(AGENT_ID, (Role.auditor, Role.admin), ("streets",))
    assert refused(both, at=knowing(auditor)) is WorkProblem.staff_cannot_work
    elsewhere = StaffAccount(AGENT_ID, (Role.agent,), ("parks",))
    assert refused(both, at=knowing(elsewhere)) is WorkProblem.staff_not_in_team
    # Nothing known of anyone (no staff store): whoever an assignment names is refused.
    assert refused(Assign(team_id="streets")) is WorkProblem.unknown_team
    assert refused(Assign(staff_id=str(AGENT_ID)), at=AT) is WorkProblem.unknown_staff


def test_priority_and_category_must_change_and_the_category_be_offered():
    assert made(ChangePriority(priority="high")) == PriorityChanged(
        priority=Priority.high, previous_priority=Priority.normal
    )
    assert refused(ChangePriority(priority="normal")) is WorkProblem.no_change
    moved = made(ChangeCategory(service_code="sidewalk"))
    assert isinstance(moved, CategoryChanged) and moved.previous_service_code == "pothole"
    assert refused(ChangeCategory(service_code="pothole")) is WorkProblem.no_change
    not_offered = Circumstances(now=NOW, policy=DEFAULT_POLICY, new_visit_id="v", category_offered=False)
    assert refused(ChangeCategory(service_code="sidewalk"), at=not_offered) is WorkProblem.unknown_category


def test_comments_keep_their_visibility():
    internal = made(Comment(text="caller sounded upset", visibility="internal"))
    assert internal.visibility is CommentVisibility.internal
    with pytest.raises(ValidationError):
        Comment(text="no visibility given")


# -- visits ------------------------------------------------------------------------------------------------------------


def test_a_visit_is_scheduled_in_the_future_at_the_public_address_unless_given():
    event = made(ScheduleVisit(starts_at=NOW + timedelta(days=1), duration_minutes=90))
    assert isinstance(event, VisitScheduled)
    assert (event.visit_id, event.address, event.duration_minutes) == ("v-1", "100 block of Main St", 90)
    given = made(
        ScheduleVisit(starts_at=NOW + timedelta(days=1), duration_minutes=90, address="Corner of A and B")
    )
    assert given.address == "Corner of A and B"
    assert refused(ScheduleVisit(starts_at=NOW, duration_minutes=30)) is WorkProblem.visit_in_the_past
    assert refused(
        ScheduleVisit(starts_at=NOW + timedelta(days=1), duration_minutes=30), state(address=None)
    ) is (WorkProblem.no_address)
    templated = made(
        ScheduleVisit(
            starts_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
            duration_minutes=60,
            template_id="visit-default",
        )
    )
    assert (
        templated.public_note == "A crew will visit 100 block of Main St on Monday 07 December 2026 at 08:00."
    )


def test_a_visit_is_rescheduled_or_cancelled_only_while_planned():
    planned = state(visits=(VISIT,))
    later = NOW + timedelta(days=2)
    moved = made(RescheduleVisit(visit_id="v-1", starts_at=later), planned)
    assert isinstance(moved, VisitRescheduled)
    assert (moved.starts_at, moved.previous_starts_at, moved.duration_minutes) == (later, VISIT.starts_at, 60)
    assert (
        refused(RescheduleVisit(visit_id="v-1", starts_at=VISIT.starts_at), planned) is WorkProblem.no_change
    )
    assert refused(RescheduleVisit(visit_id="v-9", starts_at=later), planned) is WorkProblem.unknown_visit
    assert refused(RescheduleVisit(visit_id="v-1", starts_at=NOW - timedelta(hours=1)), planned) is (
        WorkProblem.visit_in_the_past
    )
    cancelled = made(CancelVisit(visit_id="v-1", public_note="Filled on an earlier round"), planned)
    assert isinstance(cancelled, VisitCancelled) and cancelled.starts_at == VISIT.starts_at
    assert refused(CancelVisit(visit_id="v-1")) is WorkProblem.unknown_visit


def test_the_fingerprint_tells_a_retry_from_another_command():
    same = command_hash(Close(reason="fixed"), number=N, staff_id="s1")
    assert same == command_hash(Close(reason="fixed"), number=N, staff_id="s1")
    assert same != command_hash(Close(reason="fixed"), number=N, staff_id="s2")
    assert same != command_hash(Close(reason="duplicate"), number=N, staff_id="s1")


# -- the state, folded from the log ------------------------------------------------------------------------------------

STAFF = Actor(kind="agent", id="0193a1c2-7d4e-7000-8000-00000000a001")


def ev(payload, at=NOW, number=N):
    return Event.create(
        payload, request_id=number, jurisdiction_id="demo", actor=STAFF, source="agent", occurred_at=at
    )


SUBMITTED = ev(
    ServiceRequestSubmitted(service_code="pothole", location=Location(address_string="12 Main St"))
)


def test_the_state_follows_every_event_a_command_checks():
    later = NOW + timedelta(days=1)
    events = [
        SUBMITTED,
        ev(Routed(team="roads", priority=Priority.high)),
        ev(StatusChanged(status="acknowledged", previous_status="open")),
        ev(RequestAssigned(team_id="streets", staff_id="s1")),
        ev(VisitScheduled(visit_id="v-1", starts_at=later, duration_minutes=60, address="Main St")),
        ev(VisitScheduled(visit_id="v-2", starts_at=later, duration_minutes=30, address="Main St")),
        ev(
            VisitRescheduled(
                visit_id="v-1",
                starts_at=later + timedelta(hours=3),
                duration_minutes=45,
                previous_starts_at=later,
                address="Main St",
            )
        ),
        ev(VisitCancelled(visit_id="v-2", starts_at=later)),
        ev(PriorityChanged(priority=Priority.low, previous_priority=Priority.high)),
        ev(CategoryChanged(service_code="sidewalk", previous_service_code="pothole")),
        ev(StatusChanged(status="closed", previous_status="acknowledged", reason="fixed")),
    ]
    s = None
    for e in events:
        s = fold(s, e)
    assert s is not None
    assert (s.status, s.team_id, s.staff_id, s.priority, s.service_code, s.address) == (
        RequestStatus.closed,
        "streets",
        "s1",
        Priority.low,
        "sidewalk",
        "12 Main St",
    )
    assert s.visits == (Visit("v-1", later + timedelta(hours=3), 45, "Main St"),)


def test_routing_does_not_take_a_request_from_the_team_staff_chose():
    s = fold(None, SUBMITTED)
    s = fold(s, ev(RequestAssigned(team_id="parks")))
    s = fold(s, ev(Routed(team="roads", priority=Priority.high)))
    assert (s.team_id, s.priority) == ("parks", Priority.high)


def test_a_merge_and_events_before_the_submission():
    assert fold(None, ev(StatusChanged(status="closed"))) is None
    merged = fold(fold(None, SUBMITTED), ev(MergedAsDuplicate(original_request_id="BBBB-0002")))
    assert merged.merged_into == "BBBB-0002"


def test_a_batch_folds_as_one_event_at_a_time():
    other = ev(
        ServiceRequestSubmitted(service_code="graffiti", location=Location(lat=1, long=2)), number="BBBB-0002"
    )
    batch = [SUBMITTED, other, ev(StatusChanged(status="acknowledged", previous_status="open"))]
    changed = fold_many({}, batch)
    assert changed[N].status is RequestStatus.acknowledged and changed["BBBB-0002"].service_code == "graffiti"
    assert fold_many(changed, [ev(CommentAdded(text="hi"))]) == {}


# -- what the resident's track shows of staff work ---------------------------------------------------------------------


def test_track_shows_visits_and_whom_to_turn_to_and_nothing_internal():
    from civicloop_intake.domain.tracking import HistoryKind
    from civicloop_intake.domain.tracking import fold as track_fold

    later = NOW + timedelta(days=1)
    events = [
        SUBMITTED,
        ev(RequestAssigned(team_id="streets", note="crew B")),
        ev(PriorityChanged(priority=Priority.high, note="school nearby")),
        ev(
            VisitScheduled(
                visit_id="v-1", starts_at=later, duration_minutes=60, address="Main St", public_note="Hi"
            )
        ),
        ev(
            VisitRescheduled(
                visit_id="v-1",
                starts_at=later + timedelta(hours=2),
                duration_minutes=30,
                previous_starts_at=later,
                address="Main St",
            )
        ),
        ev(VisitCancelled(visit_id="v-1", starts_at=later + timedelta(hours=2))),
        ev(
            StatusChanged(status="closed", previous_status="open", reason="not_ours", referred_to="State DOT")
        ),
    ]
    view = None
    for e in events:
        view = track_fold(view, e)
    assert [
        (h.kind, h.text, h.starts_at, h.duration_minutes, h.address, h.note) for h in view.history[:3]
    ] == [
        (HistoryKind.visit, "Visit planned", later, 60, "Main St", "Hi"),
        (HistoryKind.visit, "Visit moved", later + timedelta(hours=2), 30, "Main St", None),
        (HistoryKind.visit, "Visit cancelled", later + timedelta(hours=2), None, None, None),
    ]
    closed = view.history[3]
    assert (closed.status, closed.referred_to) == (RequestStatus.closed, "State DOT")
    assert len(view.history) == 4 and "crew B" not in str(view) and "school" not in str(view)


def test_track_follows_a_change_of_category_and_its_public_note():
    from civicloop_intake.domain.tracking import HistoryKind
    from civicloop_intake.domain.tracking import fold as track_fold

    view = track_fold(None, SUBMITTED)
    quiet = track_fold(view, ev(CategoryChanged(service_code="sidewalk", previous_service_code="pothole")))
    assert (quiet.service_code, quiet.history) == ("sidewalk", ())
    told = track_fold(
        view,
        ev(
            CategoryChanged(
                service_code="sidewalk", previous_service_code="pothole", note="x", public_note="Moved"
            )
        ),
    )
    assert [(h.kind, h.text) for h in told.history] == [(HistoryKind.comment, "Moved")]


def test_routing_proposes_a_priority_until_staff_set_one():
    s = fold(None, SUBMITTED)
    s = fold(s, ev(Routed(team="roads", priority=Priority.high)))
    assert s.priority is Priority.high
    s = fold(s, ev(PriorityChanged(priority=Priority.low, previous_priority=Priority.high)))
    s = fold(s, ev(Routed(team="parks", priority=Priority.high)))  # after a category change
    assert s.priority is Priority.low
