"""The e-mails staff get about stuck requests and hot spots, in the staff language the settings name (`en` by
default), from the same gettext catalogs as residents' texts. Public facts only: the request number, its category
and team, the reason in words, since when, the agent console's link; never a resident's contact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from civicloop_notifier.domain.staff import RecipientRole, StaffMessageKind, StaffNotice, since_of
from civicloop_notifier.domain.texts import N_

REASONS: Mapping[str, str] = {
    "not_sent": N_("it was not delivered to its department in time"),
    "delivery_given_up": N_("its delivery to the department was given up after every retry"),
    "unacknowledged": N_("nobody acknowledged it within its target"),
    "past_due": N_("it is past the time it should have been resolved by"),
    "dormant": N_("nothing has happened on it for too long"),
    "visit_passed": N_("a scheduled visit passed and nothing was said after it"),
    "notification_failed": N_("the resident could not be told of a change"),
    "dead_lettered": N_("one of its events could not be processed"),
}
ESCALATED_SUBJECT = N_("Escalated: report %(number)s")
ESCALATED = N_("Report %(number)s needs a supervisor: %(reason)s.")
REMINDED_SUBJECT = N_("Reminder: report %(number)s")
REMINDED = N_("Report %(number)s, assigned to you, needs attention: %(reason)s.")
REMINDED_FOR_ABSENT = N_(
    "Report %(number)s is assigned to someone who can no longer work on it, and needs attention: %(reason)s."
)
CLUSTER_SUBJECT = N_("Hot spot: %(category)s")
CLUSTER = N_(
    "%(requests)s reports of %(category)s were found close together on %(when)s, and no staff member has acted "
    "on any of them."
)
CATEGORY = N_("Category: %(category)s")
TEAM = N_("Team: %(team)s")
AREAS = N_("Areas: %(areas)s")
SINCE = N_("Stuck since %(when)s.")
ASSIGNED = N_("It is assigned to a staff member.")
UNASSIGNED = N_("Nobody is assigned to it.")
CONSOLE = N_("Open it in the agent console: %(link)s")


@dataclass(frozen=True)
class StaffEmail:
    subject: str
    text: str


def render_staff_email(
    notice: StaffNotice,
    *,
    role: RecipientRole,
    number: str | None,
    console_link: str | None,
    team_name: str | None,
    t: Callable[[str], str],
    when: Callable[[datetime], str],
) -> StaffEmail:
    """The e-mail for one recipient: `t` translates a source text, `when` writes an instant."""
    f = notice.facts
    since = since_of(notice)
    written = when(since) if since else ""
    if notice.kind is StaffMessageKind.cluster_escalated:
        category = str(f.get("service_code") or "")
        lines = [t(CLUSTER) % {"requests": f.get("requests"), "category": category, "when": written}]
        if f.get("area_ids"):
            lines.append(t(AREAS) % {"areas": ", ".join(f["area_ids"])})
        return StaffEmail(t(CLUSTER_SUBJECT) % {"category": category}, "\n".join(lines))
    reason_code = str(f.get("reason") or "")
    reason = t(REASONS[reason_code]) if reason_code in REASONS else reason_code.replace("_", " ")
    facts = {"number": number or "", "reason": reason}
    if notice.kind is StaffMessageKind.reminded:
        subject = t(REMINDED_SUBJECT) % facts
        lines = [t(REMINDED if role is RecipientRole.assignee else REMINDED_FOR_ABSENT) % facts]
    else:
        subject = t(ESCALATED_SUBJECT) % facts
        lines = [t(ESCALATED) % facts]
        if f.get("service_code"):
            lines.append(t(CATEGORY) % {"category": f["service_code"]})
        if f.get("team_id"):
            lines.append(t(TEAM) % {"team": team_name or f["team_id"]})
        lines.append(t(ASSIGNED if f.get("assigned") else UNASSIGNED))
    if written:
        lines.append(t(SINCE) % {"when": written})
    if console_link:
        lines.append(t(CONSOLE) % {"link": console_link})
    return StaffEmail(subject, "\n".join(lines))


def every_staff_msgid() -> list[str]:
    """Every source text of staff e-mails, for the catalogs' completeness check."""
    return [
        *REASONS.values(),
        ESCALATED_SUBJECT,
        ESCALATED,
        REMINDED_SUBJECT,
        REMINDED,
        REMINDED_FOR_ABSENT,
        CLUSTER_SUBJECT,
        CLUSTER,
        CATEGORY,
        TEAM,
        AREAS,
        SINCE,
        ASSIGNED,
        UNASSIGNED,
        CONSOLE,
    ]
