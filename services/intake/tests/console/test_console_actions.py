"""The console's forms turned into intake's agent API calls, and its queue's query: pure, no IO."""

from __future__ import annotations

import pytest
from civicloop_intake.console.actions import ACTIONS, UnknownAction, api_call, proposed_event, refusal_text
from civicloop_intake.console.routes import queue_filters

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


def test_the_preview_proposes_the_event_the_form_would_make():
    assert proposed_event("acknowledge", {"public_note": "Soon"}, status_now="open") == (
        "request.status.changed",
        {"status": "acknowledged", "previous_status": "open", "public_note": "Soon"},
    )
    close = proposed_event(
        "close",
        {"reason": "not_ours", "referred_to": "State DOT", "public_note": ""},
        status_now="in_progress",
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
    reopen = proposed_event("reopen", {"reason": "recurred", "referred_to": "x"}, status_now="closed")
    assert reopen == (
        "request.status.changed",
        {"status": "open", "previous_status": "closed", "reason": "recurred"},
    )
    assert proposed_event("status", {"status": "in_progress", "reason": "x"}, status_now="bogus") == (
        "request.status.changed",
        {"status": "in_progress", "previous_status": None},
    )
    assert proposed_event("status", {"status": "deleted"}, status_now="open") is None


def test_only_a_public_comment_tells_a_resident():
    public = proposed_event("comment", {"text": " Monday ", "visibility": "public"}, status_now="open")
    assert public == ("request.comment.added", {"text": "Monday", "visibility": "public"})
    assert (
        proposed_event("comment", {"text": "Crew notes", "visibility": "internal"}, status_now="open") is None
    )
    assert proposed_event("assign", {"to_me": "1"}, status_now="open") is None
    assert proposed_event("merge", {"original": "7K3D-Q9XA"}, status_now="open") is None
