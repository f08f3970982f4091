"""Who among the staff hears of a stuck request or a hot spot, and what the e-mail says (pure)."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    AgentReminded,
    ClusterEscalated,
    Escalated,
    LateDeclared,
    StuckReason,
)
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain.staff import (
    RecipientRole,
    StaffMember,
    StaffMessageKind,
    recipients,
    staff_notice_for,
)
from civicloop_notifier.domain.staff_texts import every_staff_msgid, render_staff_email
from notifier_events import event

SINCE = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
CATALOGS = load_catalogs()


def member(*roles: str, teams=(), active=True, jurisdiction="demo") -> StaffMember:
    return StaffMember(uuid4(), jurisdiction, frozenset(roles), frozenset(teams), active)


LEAD_STREETS = member("agent", "supervisor", teams=["streets"])
LEAD_PARKS = member("supervisor", teams=["parks"])
GONE_LEAD = member("supervisor", teams=["streets"], active=False)
AGENT = member("agent", teams=["streets"])
ELSEWHERE = member("supervisor", teams=["streets"], jurisdiction="metro")
DIRECTORY = [LEAD_STREETS, LEAD_PARKS, GONE_LEAD, AGENT, ELSEWHERE]
EVERY_LEAD = tuple(sorted([LEAD_STREETS.staff_id, LEAD_PARKS.staff_id]))


def escalated(team=None):
    return staff_notice_for(event(Escalated(reason=StuckReason.past_due, since=SINCE, team_id=team)))


def reminded(staff_id: UUID | str):
    return staff_notice_for(
        event(AgentReminded(staff_id=str(staff_id), reason=StuckReason.dormant, since=SINCE))
    )


def test_an_escalation_goes_to_the_team_s_active_supervisors_only():
    chosen = recipients(escalated("streets"), "demo", DIRECTORY)
    assert chosen.staff_ids == (LEAD_STREETS.staff_id,) and chosen.role is RecipientRole.supervisor


@pytest.mark.parametrize("team", [None, "roads"])
def test_no_team_or_nobody_supervising_it_goes_to_every_supervisor_of_the_jurisdiction(team):
    assert recipients(escalated(team), "demo", DIRECTORY).staff_ids == EVERY_LEAD


def test_a_reminder_goes_to_the_assigned_member_while_active():
    chosen = recipients(reminded(AGENT.staff_id), "demo", DIRECTORY)
    assert chosen.staff_ids == (AGENT.staff_id,) and chosen.role is RecipientRole.assignee


def test_a_reminder_for_a_disabled_member_goes_to_the_supervisors_of_their_teams():
    gone = member("agent", teams=["parks"], active=False)
    chosen = recipients(reminded(gone.staff_id), "demo", [*DIRECTORY, gone])
    assert chosen.staff_ids == (LEAD_PARKS.staff_id,) and chosen.role is RecipientRole.supervisor


@pytest.mark.parametrize("staff_id", ["not-a-uuid", uuid4(), ELSEWHERE.staff_id])
def test_a_reminder_for_someone_unknown_here_goes_to_every_supervisor(staff_id):
    assert recipients(reminded(staff_id), "demo", DIRECTORY).staff_ids == EVERY_LEAD


def test_a_hot_spot_goes_to_every_supervisor_and_nobody_is_none():
    cluster = staff_notice_for(
        Event.create(
            ClusterEscalated(
                cluster_id="c-1", service_code="pothole", requests=4, detected_at=SINCE, area_ids=["d-4"]
            ),
            request_id=None,
            jurisdiction_id="demo",
            actor=Actor(kind=ActorKind.system, id="selfheal"),
            source="selfheal",
        )
    )
    assert cluster.kind is StaffMessageKind.cluster_escalated
    assert recipients(cluster, "demo", DIRECTORY).staff_ids == EVERY_LEAD
    assert recipients(cluster, "demo", [AGENT, GONE_LEAD]).staff_ids == ()


def test_a_late_declaration_is_the_resident_s_not_staff_s():
    assert staff_notice_for(event(LateDeclared(reason=StuckReason.past_due, since=SINCE))) is None


def render(notice, role=RecipientRole.supervisor, language="en"):
    return render_staff_email(
        notice,
        role=role,
        number="1ABC-2DEF",
        console_link="https://console.example/requests/1ABC-2DEF",
        team_name="Streets",
        t=CATALOGS[language].gettext,
        when=lambda at: at.strftime("%Y-%m-%d %H:%M"),
    )


def test_an_escalation_email_says_number_category_team_reason_since_and_link():
    notice = staff_notice_for(
        event(
            Escalated(
                reason=StuckReason.unacknowledged,
                since=SINCE,
                team_id="streets",
                assignee="s-9",
                service_code="pothole",
            )
        )
    )
    mail = render(notice)
    assert mail.subject == "Escalated: report 1ABC-2DEF"
    for words in (
        "Report 1ABC-2DEF needs a supervisor: nobody acknowledged it within its target.",
        "Category: pothole",
        "Team: Streets",
        "It is assigned to a staff member.",
        "Stuck since 2026-12-07 14:00.",
        "https://console.example/requests/1ABC-2DEF",
    ):
        assert words in mail.text


def test_a_reminder_reads_differently_to_the_assignee_and_to_supervisors_in_spanish():
    notice = reminded(AGENT.staff_id)
    assert "assigned to you" in render(notice, RecipientRole.assignee).text
    spanish = render(notice, RecipientRole.supervisor, "es")
    assert spanish.subject == "Recordatorio: reporte 1ABC-2DEF"
    assert "ya no puede trabajar en él" in spanish.text


@pytest.mark.parametrize("msgid", every_staff_msgid())
def test_every_staff_text_has_a_spanish_translation(msgid):
    translated = CATALOGS["es"].gettext(msgid)
    assert translated != msgid and translated.count("%(") == msgid.count("%(")


def test_every_reason_has_words():
    from civicloop_notifier.domain.staff_texts import REASONS

    assert set(REASONS) == {r.value for r in StuckReason}
