"""The queue page's pure parts: the SLA in words with its due time, the bulk form turned into the bulk API's command,
its answer sorted for the page, and the queue's filters kept in its links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from civicloop_intake.console.actions import UnknownAction
from civicloop_intake.console.queue import bulk_command, bulk_outcome, selected_numbers, sla_summary
from civicloop_intake.console.routes import QueueView, queue_filters
from civicloop_intake.console.texts import console_texts

ME = "4f9d2c1e-0000-4000-8000-000000000001"


def _target(due: str | None, done: str | None = None) -> dict[str, object]:
    return {"minutes": 60, "at_risk_from": None, "due_at": due, "done_at": done}


def test_the_sla_reads_as_words_with_the_running_target_due_first():
    late = sla_summary(
        {
            "state": "breached",
            "acknowledge": _target("2026-12-04T17:00:00+00:00"),
            "resolve": _target("2026-12-10T17:00:00+00:00"),
        }
    )
    assert late is not None
    assert (late.word, late.target) == ("q_sla_breached", "q_due_acknowledge")
    assert late.due_at == datetime(2026, 12, 4, 17, tzinfo=UTC)

    # Acknowledged: its target is done, so the resolution's due time is the one that counts.
    soon = sla_summary(
        {
            "state": "at_risk",
            "acknowledge": _target("2026-12-04T17:00:00+00:00", done="2026-12-04T10:00:00+00:00"),
            "resolve": _target("2026-12-06T09:00:00+00:00"),
        }
    )
    assert soon is not None and (soon.word, soon.target) == ("q_sla_at_risk", "q_due_resolve")

    # Done: met or missed, no due time; a paused clock (no due instant) has none either.
    done = sla_summary(
        {"state": "met", "acknowledge": None, "resolve": _target("2026-12-04T17:00:00+00:00", "x")}
    )
    assert done is not None and (done.word, done.due_at) == ("q_sla_met", None)
    paused = sla_summary({"state": "due", "acknowledge": None, "resolve": _target(None)})
    assert paused is not None and (paused.word, paused.due_at) == ("q_sla_due", None)

    assert sla_summary(None) is None
    assert sla_summary({"state": None, "acknowledge": None, "resolve": None}) is None


def test_every_sla_word_and_refusal_is_said_in_both_languages():
    en, es = console_texts("en"), console_texts("es")
    assert [en[f"q_sla_{s}"] for s in ("due", "at_risk", "breached")] == ["On time", "Due soon", "Late"]
    keys = {k for k in en if k.startswith("q_")}
    assert keys and keys <= set(es)


def test_the_selection_is_request_numbers_each_once():
    ticked = ["7k3d-q9xa", "7K3D-Q9XA", " ABCD-1234 ", "../etc", "", "ABCD-12345"]
    assert selected_numbers(ticked) == ["7K3D-Q9XA", "ABCD-1234"]
    assert len(selected_numbers(f"AAAA-{i:04d}" for i in range(150))) == 100  # the bulk API's bound


def test_each_bulk_action_names_its_command_and_leaves_empty_fields_out():
    assert bulk_command("acknowledge", {"ack_note": " "}, staff_id=ME) == {"action": "acknowledge"}
    assert bulk_command("acknowledge", {"ack_note": " On it "}, staff_id=ME) == {
        "action": "acknowledge",
        "public_note": "On it",
    }
    assert bulk_command("status", {"new_status": "on_hold", "status_note": ""}, staff_id=ME) == {
        "action": "change_status",
        "status": "on_hold",
    }
    assert bulk_command("assign", {"team_id": "streets", "staff_id": ""}, staff_id=ME) == {
        "action": "assign",
        "team_id": "streets",
    }
    # "to me" names the signed-in staff member, whatever was typed in the staff field.
    assert bulk_command("assign_me", {"team_id": "", "staff_id": "someone"}, staff_id=ME) == {
        "action": "assign",
        "staff_id": ME,
    }
    close = bulk_command(
        "close", {"reason": "not_ours", "referred_to": " State DOT ", "close_note": "Not ours"}, staff_id=ME
    )
    assert close == {
        "action": "close",
        "reason": "not_ours",
        "referred_to": "State DOT",
        "public_note": "Not ours",
    }
    with pytest.raises(UnknownAction):
        bulk_command("merge", {}, staff_id=ME)


def test_the_bulk_answer_says_which_were_done_and_why_the_others_were_refused():
    outcome = bulk_outcome(
        "acknowledge",
        [
            {"request_number": "AAAA-0001", "outcome": "done", "position": {"partition": 2, "offset": 40}},
            {"request_number": "AAAA-0002", "outcome": "again", "position": {"partition": 2, "offset": 12}},
            {"request_number": "AAAA-0003", "outcome": "done", "position": {"partition": 0, "offset": 7}},
            {
                "request_number": "AAAA-0004",
                "outcome": "refused",
                "error": "not_open",
                "detail": "status is closed",
            },
            {
                "request_number": "AAAA-0005",
                "outcome": "refused",
                "error": "new_rule",
                "detail": "a new rule",
            },
        ],
    )
    assert (outcome.done, outcome.refused) == (3, 2)
    assert [(i.number, i.outcome) for i in outcome.items][:3] == [
        ("AAAA-0001", "done"),
        ("AAAA-0002", "again"),
        ("AAAA-0003", "done"),
    ]
    assert outcome.items[0].after == "2:40"
    assert (outcome.items[3].reason, outcome.items[3].detail) == ("q_why_not_open", None)
    assert (outcome.items[4].reason, outcome.items[4].detail) == (
        None,
        "a new rule",
    )  # no words of ours: the API's
    assert outcome.positions() == ["0:7", "2:40"]  # the latest per partition: the queue is read after these


def test_the_queue_keeps_its_filters_and_knows_which_queue_it_is():
    qv = QueueView.of("mine", ["acknowledged", "bogus"], ["breached"], ["streets", "x" * 65], "c1")
    assert qv == QueueView("mine", ("acknowledged",), ("breached",), ("streets",), "c1")
    assert qv.params() == {
        "view": "mine",
        "status": ["acknowledged"],
        "sla_state": ["breached"],
        "team": ["streets"],
    }
    assert qv.params(cursor=True)["cursor"] == "c1"
    assert QueueView.of("nope", [], [], []).view == "open"
    assert QueueView.of("dormant", [], [], []).current() == "view:dormant"
    assert QueueView.of("open", [], [], ["streets"]).current() == "team:streets"
    assert QueueView.of("open", ["open"], ["due"], []).current() is None
    filters = queue_filters("open", [], [], None, ("streets", "parks"))
    assert [v for k, v in filters if k == "team"] == ["streets", "parks"]
