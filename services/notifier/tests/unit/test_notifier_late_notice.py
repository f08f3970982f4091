"""selfheal's `request.declared_late` is told to the resident, honestly, in their language; nothing else selfheal
publishes is a resident's to hear."""

from datetime import UTC, datetime

import pytest
from civicloop_events.payloads import (
    AgentReminded,
    DeliveryRequeued,
    Escalated,
    LateDeclared,
    MessageKind,
    StuckReason,
)
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain.notices import notice_as_json, notice_for, notice_from_json
from civicloop_notifier.domain.texts import Texts
from notifier_events import event

SINCE = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
TEXTS = Texts(load_catalogs())


def render(notice, language):
    return TEXTS.render(
        notice,
        number="1ABC-2DEF",
        tracking_link="https://civicloop.example/track/1ABC-2DEF",
        language=language,
        jurisdiction_id="demo",
        time_zone="America/New_York",
    )


@pytest.mark.parametrize(
    "reason",
    [StuckReason.unacknowledged, StuckReason.past_due, StuckReason.dormant, StuckReason.visit_passed],
)
def test_a_late_reason_is_told_and_survives_the_queue(reason):
    notice = notice_for(event(LateDeclared(reason=reason, since=SINCE, due_at=DUE)))
    assert notice is not None and notice.kind is MessageKind.late
    assert notice_from_json(notice_as_json(notice)) == notice


@pytest.mark.parametrize(
    "reason", [StuckReason.not_sent, StuckReason.delivery_given_up, StuckReason.dead_lettered]
)
def test_the_platform_s_own_troubles_are_never_declared_to_a_resident(reason):
    assert notice_for(event(LateDeclared(reason=reason, since=SINCE))) is None


def test_escalations_reminders_and_requeues_are_not_residents_messages():
    for payload in (
        Escalated(reason=StuckReason.past_due, since=SINCE),
        AgentReminded(staff_id="s-1", reason=StuckReason.past_due, since=SINCE),
        DeliveryRequeued(body_id="dpw", reason=StuckReason.delivery_given_up, attempts=5),
    ):
        assert notice_for(event(payload)) is None


def test_past_due_says_the_promised_date_and_that_a_supervisor_was_told():
    notice = notice_for(event(LateDeclared(reason=StuckReason.past_due, since=SINCE, due_at=DUE)))
    out = render(notice, "en")
    assert out.text.startswith("Your report 1ABC-2DEF is late, and we owe you an apology.")
    assert "resolved by Dec 8, 2026" in out.text
    assert "A supervisor was told" in out.text and "track/1ABC-2DEF" in out.text


def test_unacknowledged_in_spanish_without_a_due_date_uses_since():
    notice = notice_for(event(LateDeclared(reason=StuckReason.unacknowledged, since=SINCE)))
    out = render(notice, "es-US")
    assert out.language == "es"
    assert out.text.startswith("Su reporte 1ABC-2DEF lleva retraso")
    assert "antes del 7 dic 2026" in out.text and "Se avisó a un supervisor" in out.text


def test_dormant_and_visit_passed_name_no_date():
    for reason, words in (
        (StuckReason.dormant, "Nothing has moved on it for too long."),
        (StuckReason.visit_passed, "A visit was planned"),
    ):
        out = render(notice_for(event(LateDeclared(reason=reason, since=SINCE))), "en")
        assert words in out.text and "2026" not in out.text
