"""The console's forms turned into intake's agent API calls, and its queue's query: pure, no IO."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from civicloop_intake.adapters.staff_directory import Account, Team
from civicloop_intake.console.actions import (
    ACTIONS,
    Incomplete,
    PlannedVisit,
    RequestFacts,
    UnknownAction,
    api_call,
    proposed_event,
    refusal_text,
)
from civicloop_intake.console.routes import directory_of, facts_of, form_of, queue_filters
from civicloop_intake.domain.work_policy import DEFAULT_POLICY, ReplyTemplate

ME = "4f9d2c1e-0000-4000-8000-000000000001"


def test_each_action_names_its_route_and_leaves_empty_fields_out():
    assert api_call("acknowledge", {"public_note": "  "}, staff_id=ME).body == {}
    assert api_call("acknowledge", {"public_note": " On it "}, staff_id=ME).body == {"public_note": "On it"}
    close = api_call("close", {"reason": "fixed", "referred_to": "", "public_note": "Filled"}, staff_id=ME)
    assert (close.path, close.body) == ("/close", {"reason": "fixed", "public_note": "Filled"})
    comment = api_call("comment", {"text": "Called the crew", "visibility": "internal"}, staff_id=ME)
    assert (comment.path, comment.body) == (
        "/comments",
        {"text": "Called the crew", "visibility": "internal"},
    )
    merge = api_call("merge", {"original": " 7K3D-Q9XA ", "note": ""}, staff_id=ME)
    assert (merge.path, merge.body) == ("/merge", {"original": "7K3D-Q9XA"})
    assert {api_call(a, {}, staff_id=ME).path for a in ACTIONS} == {
        "/acknowledge",
        "/status",
        "/comments",
        "/assign",
        "/visits",
        "/close",
        "/reopen",
        "/merge",
        "/visits/-/reschedule",
        "/visits/-/cancel",
        "/priority",
        "/category",
        "/location",
    }


def test_assign_to_me_names_the_signed_in_staff_member_whatever_was_typed():
    call = api_call("assign", {"staff_id": "someone-else", "to_me": "1", "team_id": "streets"}, staff_id=ME)
    assert call.body == {"staff_id": ME, "team_id": "streets"}
    assert api_call("assign", {"staff_id": "agent-2"}, staff_id=ME).body == {"staff_id": "agent-2"}


def test_a_visit_typed_without_a_zone_is_read_as_utc_and_its_duration_as_a_number():
    call = api_call("visit", {"starts_at": "2026-12-07T09:30", "duration_minutes": "45"}, staff_id=ME)
    assert call.body == {"starts_at": "2026-12-07T09:30:00+00:00", "duration_minutes": 45}
    # What is not a date or a number goes on as typed, for the API to refuse with its own words.
    odd = api_call("visit", {"starts_at": "tomorrow", "duration_minutes": "an hour"}, staff_id=ME)
    assert odd.body == {"starts_at": "tomorrow", "duration_minutes": "an hour"}


def test_an_unknown_action_is_refused():
    with pytest.raises(UnknownAction):
        api_call("delete", {}, staff_id=ME)


def test_a_refusal_reads_as_the_api_detail_or_its_fields_never_their_values():
    assert (
        refusal_text(409, {"error": "closed", "detail": "the request is closed"}) == "the request is closed"
    )
    invalid = {"detail": [{"loc": ["body", "reason"], "msg": "Field required", "type": "missing"}]}
    assert refusal_text(422, invalid) == "reason: Field required"
    assert refusal_text(502, None) == "HTTP 502"


def test_the_queue_asks_for_open_work_unless_statuses_are_chosen():
    default = queue_filters("open", [], [], None)
    assert [v for k, v in default if k == "status"] == ["open", "acknowledged", "in_progress", "on_hold"]
    assert ("merged", "false") in default
    closed = queue_filters("mine", ["closed", "bogus"], ["breached", "nope"], "c1")
    assert [v for k, v in closed if k == "status"] == ["closed"]
    assert [v for k, v in closed if k == "sla_state"] == ["breached"]
    assert ("mine", "true") in closed and ("cursor", "c1") in closed
    assert ("dormant", "true") in queue_filters("dormant", [], [], None)
    assert ("unassigned", "true") in queue_filters("unassigned", [], [], None)


VISIT = PlannedVisit("v-1a2b", datetime(2026, 12, 9, 8, 0, tzinfo=UTC), 60, "100 block of Elm St")
FACTS = RequestFacts("7K3D-Q9XA", "open", "pothole", "14 Elm St", (VISIT,))
POLICY = DEFAULT_POLICY.model_copy(
    update={
        "templates": (
            *DEFAULT_POLICY.templates,
            ReplyTemplate(template_id="crew", action="comment", text="A crew is on {request_number}."),
        )
    }
)


def forecast(action, form, facts=FACTS, policy=POLICY):
    return proposed_event(action, form, facts=facts, policy=policy)


def test_a_visits_actions_name_the_visit_in_the_path_and_never_anything_else():
    move = api_call(
        "reschedule",
        {"visit_id": "v-1a2b", "starts_at": "2026-12-09T10:00", "duration_minutes": "90", "public_note": ""},
        staff_id=ME,
    )
    assert (move.path, move.body) == (
        "/visits/v-1a2b/reschedule",
        {"starts_at": "2026-12-09T10:00:00+00:00", "duration_minutes": 90},
    )
    cancel = api_call("cancel_visit", {"visit_id": "v-1a2b", "public_note": " Rain "}, staff_id=ME)
    assert (cancel.path, cancel.body) == ("/visits/v-1a2b/cancel", {"public_note": "Rain"})
    for odd in ("../close", "..", "a/b", ""):  # never another route of the API: the API refuses `-`
        assert api_call("cancel_visit", {"visit_id": odd}, staff_id=ME).path == "/visits/-/cancel"


def test_priority_category_and_location_send_what_was_chosen():
    assert api_call("priority", {"priority": "high", "note": ""}, staff_id=ME).body == {"priority": "high"}
    category = api_call("category", {"service_code": "graffiti", "note": "misfiled"}, staff_id=ME)
    assert (category.path, category.body) == ("/category", {"service_code": "graffiti", "note": "misfiled"})
    placed = api_call("location", {"lat": "38.8977", "long": "-77.0365", "address": ""}, staff_id=ME)
    assert (placed.path, placed.body) == ("/location", {"lat": 38.8977, "long": -77.0365})
    assert api_call("location", {"lat": "north", "long": ""}, staff_id=ME).body == {
        "lat": "north",
        "long": "",
    }


def test_a_template_is_sent_by_its_id_for_the_api_to_fill_in():
    ack = api_call("acknowledge", {"template_id": "ack-default", "public_note": ""}, staff_id=ME)
    assert ack.body == {"template_id": "ack-default"}
    templated = api_call("comment", {"template_id": "crew", "text": " ", "visibility": "public"}, staff_id=ME)
    assert templated.body == {"template_id": "crew", "visibility": "public"}
    # Neither a text nor a template: the empty text goes on, for the API to say what is missing.
    assert api_call("comment", {"visibility": "public"}, staff_id=ME).body == {
        "visibility": "public",
        "text": "",
    }
    for action in ("status", "close", "reopen", "visit"):
        assert api_call(action, {"template_id": "t"}, staff_id=ME).body["template_id"] == "t"


def test_the_preview_proposes_the_event_the_form_would_make():
    assert forecast("acknowledge", {"public_note": "Soon"}) == (
        "request.status.changed",
        {"status": "acknowledged", "previous_status": "open", "public_note": "Soon"},
    )
    close = forecast(
        "close",
        {"reason": "not_ours", "referred_to": "State DOT", "public_note": ""},
        facts=RequestFacts("7K3D-Q9XA", "in_progress", "pothole"),
    )
    assert close == (
        "request.status.changed",
        {
            "status": "closed",
            "previous_status": "in_progress",
            "reason": "not_ours",
            "referred_to": "State DOT",
        },
    )
    reopen = forecast(
        "reopen", {"reason": "recurred", "referred_to": "x"}, facts=RequestFacts("N", "closed", "p")
    )
    assert reopen == (
        "request.status.changed",
        {"status": "open", "previous_status": "closed", "reason": "recurred"},
    )
    assert forecast(
        "status", {"status": "in_progress", "reason": "x"}, facts=RequestFacts("N", "bogus", "p")
    ) == (
        "request.status.changed",
        {"status": "in_progress", "previous_status": None},
    )
    assert forecast("status", {"status": "deleted"}) is None


def test_the_preview_reads_a_chosen_template_as_intake_fills_it_in():
    _, ack = forecast("acknowledge", {"template_id": "ack-default"})
    assert ack["public_note"] == "Thank you: we received report 7K3D-Q9XA and will look into it."
    _, close = forecast(
        "close", {"reason": "not_ours", "referred_to": "State DOT", "template_id": "close-not-ours"}
    )
    assert close["public_note"] == "This is not ours to fix: we passed report 7K3D-Q9XA to State DOT."
    _, comment = forecast("comment", {"template_id": "crew", "visibility": "public"})
    assert comment == {"text": "A crew is on 7K3D-Q9XA.", "visibility": "public"}
    # A template of another action (saving is refused) gives no note; a written note wins over nothing.
    assert "public_note" not in forecast("acknowledge", {"template_id": "close-fixed"})[1]


def test_only_a_public_comment_tells_a_resident():
    public = forecast("comment", {"text": " Monday ", "visibility": "public"})
    assert public == ("request.comment.added", {"text": "Monday", "visibility": "public"})
    assert forecast("comment", {"text": "Crew notes", "visibility": "internal"}) is None
    for action, form in (
        ("assign", {"to_me": "1"}),
        ("priority", {"priority": "high"}),
        ("category", {"service_code": "graffiti", "public_note": "Moved"}),
        ("location", {"lat": "1", "long": "2"}),
    ):
        assert forecast(action, form) is None, action


def test_visits_and_merges_are_forecast_as_the_events_they_make():
    kind, scheduled = forecast(
        "visit", {"starts_at": "2026-12-10T09:00", "duration_minutes": "30", "template_id": "visit-default"}
    )
    assert kind == "request.visit.scheduled"
    assert scheduled["address"] == "14 Elm St" and scheduled["duration_minutes"] == 30
    assert scheduled["public_note"] == "A crew will visit 14 Elm St on Thursday 10 December 2026 at 09:00."
    kind, moved = forecast("reschedule", {"visit_id": "v-1a2b", "starts_at": "2026-12-11T09:00"})
    assert kind == "request.visit.rescheduled"
    assert moved["previous_starts_at"] == "2026-12-09T08:00:00+00:00" and moved["duration_minutes"] == 60
    assert moved["address"] == "100 block of Elm St"
    assert forecast("cancel_visit", {"visit_id": "v-1a2b", "public_note": "Rain"}) == (
        "request.visit.cancelled",
        {"visit_id": "v-1a2b", "starts_at": "2026-12-09T08:00:00+00:00", "public_note": "Rain"},
    )
    assert forecast("merge", {"original": " 7k3d-q9xb "}) == (
        "request.merged_as_duplicate",
        {"original_request_id": "7K3D-Q9XB"},
    )


def test_a_form_that_does_not_say_enough_yet_is_not_forecast():
    for action, form in (
        ("visit", {"starts_at": "tomorrow", "duration_minutes": "30"}),
        ("visit", {"starts_at": "2026-12-10T09:00", "duration_minutes": ""}),
        ("reschedule", {"visit_id": "v-gone", "starts_at": "2026-12-10T09:00"}),
        ("cancel_visit", {}),
        ("merge", {"original": ""}),
        ("comment", {"text": "", "visibility": "public"}),
    ):
        with pytest.raises(Incomplete):
            forecast(action, form)
    with pytest.raises(Incomplete):  # no address typed and none on the request
        forecast(
            "visit",
            {"starts_at": "2026-12-10T09:00", "duration_minutes": "30"},
            facts=RequestFacts("N", "open", "p"),
        )


def test_the_agent_view_is_read_into_the_forecasts_facts():
    found = {
        "request_number": "7K3D-Q9XA",
        "status": "acknowledged",
        "service_code": "pothole",
        "address_string": "14 Elm St",
        "visits": [
            {
                "visit_id": "v-1",
                "starts_at": "2026-12-09T08:00:00Z",
                "duration_minutes": 60,
                "address": "A",
                "state": "planned",
            },
            {
                "visit_id": "v-2",
                "starts_at": "2026-12-08T08:00:00Z",
                "duration_minutes": 60,
                "address": "A",
                "state": "cancelled",
            },
        ],
    }
    facts = facts_of(found)
    assert [v.visit_id for v in facts.visits] == ["v-1"] and facts.address == "14 Elm St"
    assert form_of("reschedule", {"visit_id": "v-1"}) == "reschedule:v-1" and form_of("close", {}) == "close"


def test_the_picker_offers_active_agents_and_supervisors_by_name_and_names_everyone():
    def account(n, roles, disabled=None, name="", teams=()):
        return Account(
            staff_id=UUID(int=n),
            name=name or None,
            email=f"s{n}@county.example",
            roles=roles,
            teams=teams,
            disabled=disabled,
        )

    accounts = [
        account(1, ("agent",), name="Ana Ruiz", teams=("roads",)),
        account(2, ("supervisor", "admin"), name="Bo Lee"),
        account(3, ("admin",), name="Cy Admin"),
        account(4, ("agent",), disabled="left", name="Di Gone"),
        account(5, ("auditor",)),
    ]
    teams = [Team("roads", "Roads and sidewalks", True), Team("parks", "Parks", False)]
    directory = directory_of(teams, accounts)
    assert [c.label for c in directory.assignable] == [
        "Ana Ruiz · s1@county.example",
        "Bo Lee · s2@county.example",
    ]
    assert directory.assignable[0].teams == ("Roads and sidewalks",)
    assert directory.teams == [("roads", "Roads and sidewalks")]  # a retired team is not offered
    assert directory.team_names["parks"] == "Parks"  # ... yet still named
    names = directory.names
    assert (
        names[str(accounts[3].staff_id)] == "Di Gone"
        and names[str(accounts[4].staff_id)] == "s5@county.example"
    )
