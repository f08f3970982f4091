"""Who among the staff hears of a stuck request, and what it says (pure).

selfheal's `request.escalated`, `cluster.escalated` and `request.assignee.reminded` become a `StaffNotice`: public
facts only (the request number, its category and team, the reason, since when), never the resident's contact. Its
recipients are decided from the staff directory when it is sent, not when it is folded: the directory is folded from
another topic and may be a little behind.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Event
from civicloop_events.payloads import AgentReminded, ClusterEscalated, Escalated, StaffRole


class StaffMessageKind(str, enum.Enum):
    escalated = (
        "escalated"  # a stuck request, to the supervisors of its team (of the jurisdiction, with none)
    )
    reminded = (
        "reminded"  # a stuck request, to the staff member assigned (their supervisors when they cannot)
    )
    cluster_escalated = "cluster_escalated"  # a hot spot nobody acted on, to the jurisdiction's supervisors


class RecipientRole(str, enum.Enum):
    assignee = "assignee"
    supervisor = "supervisor"


@dataclass(frozen=True)
class StaffMember:
    """A staff account as the directory keeps it (its email and name stay sealed elsewhere)."""

    staff_id: UUID
    jurisdiction_id: str
    roles: frozenset[str]
    teams: frozenset[str]
    active: bool

    @property
    def supervises(self) -> bool:
        return self.active and StaffRole.supervisor.value in self.roles


@dataclass(frozen=True)
class StaffNotice:
    """What staff are told of a selfheal event: its kind and public facts (JSON-ready)."""

    kind: StaffMessageKind
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipients:
    staff_ids: tuple[UUID, ...]
    role: RecipientRole


def staff_notice_for(event: Event[Any]) -> StaffNotice | None:
    """The notice staff get for `event`, or None when it is none of theirs."""
    p = event.payload
    if isinstance(p, Escalated):
        return StaffNotice(
            StaffMessageKind.escalated,
            {
                "reason": p.reason.value,
                "since": p.since.isoformat(),
                "team_id": p.team_id,
                "assigned": p.assignee is not None,
                "service_code": p.service_code,
            },
        )
    if isinstance(p, AgentReminded):
        return StaffNotice(
            StaffMessageKind.reminded,
            {"reason": p.reason.value, "since": p.since.isoformat(), "staff_id": p.staff_id},
        )
    if isinstance(p, ClusterEscalated):
        return StaffNotice(
            StaffMessageKind.cluster_escalated,
            {
                "cluster_id": p.cluster_id,
                "service_code": p.service_code,
                "requests": p.requests,
                "detected_at": p.detected_at.isoformat(),
                "area_ids": list(p.area_ids),
            },
        )
    return None


def _as_uuid(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def supervisors(
    directory: Iterable[StaffMember], jurisdiction_id: str, *, teams: Iterable[str] = ()
) -> tuple[UUID, ...]:
    """The active supervisors of any of `teams` in the jurisdiction; with no team named, all of them."""
    wanted = set(teams)
    return tuple(
        sorted(
            m.staff_id
            for m in directory
            if m.jurisdiction_id == jurisdiction_id and m.supervises and (not wanted or m.teams & wanted)
        )
    )


def recipients(notice: StaffNotice, jurisdiction_id: str, directory: Sequence[StaffMember]) -> Recipients:
    """Who gets `notice`: an escalation goes to the team's active supervisors, or to every supervisor of the
    jurisdiction when it names no team or nobody supervises it; a reminder to the assigned staff member while they
    are active (else to the supervisors of their teams, else all); a hot spot to every supervisor."""
    everyone = supervisors(directory, jurisdiction_id)
    if notice.kind is StaffMessageKind.reminded:
        staff_id = _as_uuid(notice.facts.get("staff_id"))
        member = next((m for m in directory if m.staff_id == staff_id), None)
        if member is not None and member.jurisdiction_id == jurisdiction_id:
            if member.active:
                return Recipients((member.staff_id,), RecipientRole.assignee)
            of_teams = supervisors(directory, jurisdiction_id, teams=member.teams) if member.teams else ()
            return Recipients(of_teams or everyone, RecipientRole.supervisor)
        return Recipients(everyone, RecipientRole.supervisor)
    team_id = notice.facts.get("team_id") if notice.kind is StaffMessageKind.escalated else None
    of_team = supervisors(directory, jurisdiction_id, teams=[team_id]) if team_id else ()
    return Recipients(of_team or everyone, RecipientRole.supervisor)


def since_of(notice: StaffNotice) -> datetime | None:
    value = notice.facts.get("since") or notice.facts.get("detected_at")
    return datetime.fromisoformat(value) if value else None
