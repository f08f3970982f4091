"""What to do about the findings (pure): each action once, and no request acted on twice within the cooldown.

- A delivery given up is requeued once; given up again after that, or still not sent `not_sent_after` past the
  requeue, it is escalated. A report not sent in time is requeued the same way.
- A body whose polls keep failing is nudged (again once per cooldown while the streak lasts).
- Unacknowledged past its target: escalated. Past due, dormant, or a visit passed with nothing said: escalated and
  its assignee (if any) reminded. For these four the resident is told, honestly, that the request is late
  (`LATE_REASONS`) and that a supervisor was told: so every late notice goes with an escalation.
- A failed notification, a dead-lettered event: escalated. A hot spot nobody acted on: escalated to the supervisors.

Every action has a key: the same fact (the same request, reason and `since`) gives the same action, whose event id
derives from that key, so a repeated sweep finds it already in the ledger. On top, one request gets at most one
action of a kind per cooldown, whichever reason it is for (a request past due and dormant is escalated once).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from civicloop_events import derived_event_id
from civicloop_events.payloads import LATE_REASONS, StuckReason

from civicloop_selfheal.domain.findings import Findings, RequestFinding, SweepPolicy

# The order a request's reasons are acted on when it has several: the platform's own failures first.
SEVERITY = (
    StuckReason.delivery_given_up,
    StuckReason.not_sent,
    StuckReason.dead_lettered,
    StuckReason.notification_failed,
    StuckReason.past_due,
    StuckReason.unacknowledged,
    StuckReason.visit_passed,
    StuckReason.dormant,
)


class ActionKind(str, enum.Enum):
    requeue = "requeue"  # DeliveryRequeued
    nudge = "nudge"  # BodyPollNudged
    escalate = "escalate"  # Escalated
    remind = "remind"  # AgentReminded
    declare_late = "declare_late"  # LateDeclared
    escalate_cluster = "escalate_cluster"  # ClusterEscalated


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    subject: str  # the request number, `<jurisdiction>/<body>` or `<jurisdiction>/cluster/<id>`
    jurisdiction_id: str
    reason: str
    since: datetime
    request_number: str | None = None
    body_id: str | None = None
    team_id: str | None = None
    assignee: str | None = None
    service_code: str | None = None
    due_at: datetime | None = None
    attempts: int = 0
    cluster_id: str | None = None
    cluster_size: int = 0
    area_ids: tuple[str, ...] = ()
    slot: int = 0  # which cooldown period since `since` a repeating action belongs to

    @property
    def event_id(self) -> UUID:
        return derived_event_id(
            "selfheal", self.kind.value, self.subject, self.reason, self.since.isoformat(), self.slot
        )


@dataclass(frozen=True)
class Ledger:
    """What earlier runs did, as far as deciding needs: each (kind, subject)'s latest action, and each request's
    latest requeue."""

    last_action_at: Mapping[tuple[ActionKind, str], datetime]
    last_requeue_at: Mapping[str, datetime]

    @classmethod
    def empty(cls) -> Ledger:
        return cls(last_action_at={}, last_requeue_at={})


def decide(
    findings: Findings, ledger: Ledger, *, done: Collection[UUID], sweep: SweepPolicy, now: datetime
) -> list[Action]:
    """The actions to take now: of those `wanted`, the ones not `done` already (event ids in the ledger), at most
    one per (kind, subject), none within the cooldown of that subject's last one of that kind."""
    fresh = [a for a in wanted(findings, ledger, sweep=sweep, now=now) if a.event_id not in done]
    return _within_cooldown(fresh, ledger.last_action_at, sweep=sweep, now=now)


def wanted(findings: Findings, ledger: Ledger, *, sweep: SweepPolicy, now: datetime) -> list[Action]:
    """Every action the findings call for, worst reason first per request (the ledger has yet to say which were
    done)."""
    wanted: list[Action] = []
    for finding in sorted(findings.requests, key=lambda f: (f.request.number, SEVERITY.index(f.reason))):
        wanted += _for_request(finding, ledger, sweep=sweep, now=now)
    for d in findings.dead_letters:
        if d.request is not None and not d.request.closed:
            wanted.append(
                _escalation(
                    RequestFinding(d.request, StuckReason.dead_lettered, d.dead_letter.dead_lettered_at),
                )
            )
    for b in findings.bodies:
        since = b.body.failing_since
        if since is None:  # a body finding is a failing one
            continue
        wanted.append(
            Action(
                kind=ActionKind.nudge,
                subject=f"{b.body.jurisdiction_id}/{b.body.body_id}",
                jurisdiction_id=b.body.jurisdiction_id,
                reason="poll_failing",
                since=since,
                body_id=b.body.body_id,
                slot=int((now - since) / sweep.cooldown) if now > since else 0,
            )
        )
    for c in findings.clusters:
        cluster = c.cluster
        wanted.append(
            Action(
                kind=ActionKind.escalate_cluster,
                subject=f"{cluster.jurisdiction_id}/cluster/{cluster.cluster_id}",
                jurisdiction_id=cluster.jurisdiction_id,
                reason="cluster_unattended",
                since=cluster.detected_at,
                service_code=cluster.service_code,
                cluster_id=cluster.cluster_id,
                cluster_size=len(cluster.request_numbers),
                area_ids=cluster.area_ids,
            )
        )
    return wanted


def _for_request(
    finding: RequestFinding, ledger: Ledger, *, sweep: SweepPolicy, now: datetime
) -> list[Action]:
    request, reason = finding.request, finding.reason
    if reason in (StuckReason.delivery_given_up, StuckReason.not_sent):
        requeued = ledger.last_requeue_at.get(request.number)
        if requeued is None:
            return [_requeue(finding)]
        if reason is StuckReason.delivery_given_up and finding.since > requeued:
            return [_escalation(finding)]
        if reason is StuckReason.not_sent and now >= requeued + sweep.not_sent_after:
            return [_escalation(finding)]
        return []  # requeued: outbound's turn
    actions: list[Action] = []
    remind = reason in (StuckReason.past_due, StuckReason.dormant, StuckReason.visit_passed)
    if remind and request.assignee is not None:
        actions.append(_action(ActionKind.remind, finding))
    actions.append(_escalation(finding))  # the late notice tells the resident a supervisor knows
    if reason in LATE_REASONS:
        actions.append(_action(ActionKind.declare_late, finding))
    return actions


def _action(kind: ActionKind, finding: RequestFinding) -> Action:
    request = finding.request
    return Action(
        kind=kind,
        subject=request.number,
        jurisdiction_id=request.jurisdiction_id,
        reason=finding.reason.value,
        since=finding.since,
        request_number=request.number,
        body_id=request.body_id,
        team_id=request.team_id,
        assignee=request.assignee,
        service_code=request.service_code,
        due_at=finding.due_at,
        attempts=request.send_attempts,
    )


def _escalation(finding: RequestFinding) -> Action:
    return _action(ActionKind.escalate, finding)


def _requeue(finding: RequestFinding) -> Action:
    return _action(ActionKind.requeue, finding)


def _within_cooldown(
    wanted: Iterable[Action],
    last_action_at: Mapping[tuple[ActionKind, str], datetime],
    *,
    sweep: SweepPolicy,
    now: datetime,
) -> list[Action]:
    """One action per (kind, subject) per run, none within the cooldown of the last one."""
    taken: dict[tuple[ActionKind, str], Action] = {}
    for action in wanted:
        key = (action.kind, action.subject)
        if key in taken:
            continue
        last = last_action_at.get(key)
        if last is not None and now < last + sweep.cooldown:
            continue
        taken[key] = action
    return list(taken.values())
