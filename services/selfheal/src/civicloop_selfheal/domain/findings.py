"""What should have moved and did not: findings from selfheal's view at an instant (pure).

Each finding names its subject (a request, a body, a hot spot, a dead letter), why (`StuckReason`, or the body's and
the hot spot's own kinds) and since when: the target, visit or failure it passed. A closed request has none.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicloop_events.payloads import StuckReason
from civicloop_sla.clock import SlaPolicy, deadlines

from civicloop_selfheal.domain.view import BodyView, ClusterView, DeadLetter, RequestView


class Finding(str, enum.Enum):
    """Every kind of finding a run counts (the request's reasons, then what is not about one request)."""

    not_sent = "not_sent"
    delivery_given_up = "delivery_given_up"
    unacknowledged = "unacknowledged"
    past_due = "past_due"
    dormant = "dormant"
    visit_passed = "visit_passed"
    notification_failed = "notification_failed"
    dead_lettered = "dead_lettered"
    poll_failing = "poll_failing"
    cluster_unattended = "cluster_unattended"
    submissions_pending = "submissions_pending"


@dataclass(frozen=True)
class SweepPolicy:
    not_sent_after: timedelta = timedelta(hours=1)
    visit_grace: timedelta = timedelta(hours=2)
    cluster_after: timedelta = timedelta(hours=24)
    pending_after: timedelta = timedelta(minutes=5)
    cooldown: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class RequestFinding:
    request: RequestView
    reason: StuckReason
    since: datetime
    due_at: datetime | None = None  # the SLA target it passed


@dataclass(frozen=True)
class BodyFinding:
    body: BodyView


@dataclass(frozen=True)
class ClusterFinding:
    cluster: ClusterView


@dataclass(frozen=True)
class DeadLetterFinding:
    dead_letter: DeadLetter
    request: RequestView | None  # the request it names, when selfheal knows it


@dataclass(frozen=True)
class Findings:
    requests: tuple[RequestFinding, ...] = ()
    bodies: tuple[BodyFinding, ...] = ()
    clusters: tuple[ClusterFinding, ...] = ()
    dead_letters: tuple[DeadLetterFinding, ...] = ()
    submissions_pending: int = 0  # intake's outboxes holding a row older than the policy allows

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for f in self.requests:
            counted[f.reason.value] = counted.get(f.reason.value, 0) + 1
        for kind, n in (
            (Finding.dead_lettered, len(self.dead_letters)),
            (Finding.poll_failing, len(self.bodies)),
            (Finding.cluster_unattended, len(self.clusters)),
            (Finding.submissions_pending, self.submissions_pending),
        ):
            if n:
                counted[kind.value] = counted.get(kind.value, 0) + n
        return counted


def request_findings(
    request: RequestView,
    *,
    policy: SlaPolicy | None,
    body: BodyView | None,
    sweep: SweepPolicy,
    now: datetime,
) -> list[RequestFinding]:
    """Why `request` is stuck at `now`, worst first (none when it is closed)."""
    if request.closed:
        return []
    found: list[RequestFinding] = []
    if request.given_up_at is not None:
        found.append(RequestFinding(request, StuckReason.delivery_given_up, request.given_up_at))
    elif (
        request.routed_at is not None
        and request.sent_at is None
        and not (body is not None and body.paused)
        and now >= request.routed_at + sweep.not_sent_after
    ):
        found.append(RequestFinding(request, StuckReason.not_sent, request.routed_at))
    if request.notification_failed_at is not None:
        found.append(RequestFinding(request, StuckReason.notification_failed, request.notification_failed_at))
    if policy is not None:
        due = deadlines(request.clock, policy)
        resolve, acknowledge = due.resolve, due.acknowledge
        if (
            resolve is not None
            and resolve.done_at is None
            and resolve.due_at is not None
            and now > resolve.due_at
        ):
            found.append(RequestFinding(request, StuckReason.past_due, resolve.due_at, resolve.due_at))
        if (
            acknowledge is not None
            and acknowledge.done_at is None
            and acknowledge.due_at is not None
            and now > acknowledge.due_at
        ):
            found.append(
                RequestFinding(request, StuckReason.unacknowledged, acknowledge.due_at, acknowledge.due_at)
            )
        if due.dormant_from is not None and now >= due.dormant_from:
            found.append(RequestFinding(request, StuckReason.dormant, due.dormant_from))
    if request.visit_ends_at is not None and now >= request.visit_ends_at + sweep.visit_grace:
        said = request.last_public_update_at
        if said is None or said < request.visit_ends_at:
            found.append(RequestFinding(request, StuckReason.visit_passed, request.visit_ends_at))
    return found


def cluster_unattended(
    cluster: ClusterView, members: Mapping[str, RequestView], *, sweep: SweepPolicy, now: datetime
) -> bool:
    """Nobody on staff acted on any member since the hot spot was detected, for longer than the policy allows."""
    if now < cluster.detected_at + sweep.cluster_after:
        return False
    for number in cluster.request_numbers:
        member = members.get(number)
        acted = member.last_staff_action_at if member is not None else None
        if acted is not None and acted >= cluster.detected_at:
            return False
    return True


def find(
    *,
    requests: Iterable[RequestView],
    policies: Mapping[str, SlaPolicy],
    bodies: Mapping[tuple[str, str], BodyView],
    clusters: Iterable[ClusterView],
    cluster_members: Mapping[str, RequestView],
    dead_letters: Iterable[DeadLetter],
    dead_letter_requests: Mapping[str, RequestView],
    submissions_pending: int,
    sweep: SweepPolicy,
    now: datetime,
) -> Findings:
    found: list[RequestFinding] = []
    for request in requests:
        body = bodies.get((request.jurisdiction_id, request.body_id)) if request.body_id else None
        found += request_findings(
            request, policy=policies.get(request.jurisdiction_id), body=body, sweep=sweep, now=now
        )
    return Findings(
        requests=tuple(found),
        bodies=tuple(BodyFinding(b) for b in bodies.values() if b.failing_since is not None),
        clusters=tuple(
            ClusterFinding(c)
            for c in clusters
            if cluster_unattended(c, cluster_members, sweep=sweep, now=now)
        ),
        dead_letters=tuple(
            DeadLetterFinding(d, dead_letter_requests.get(d.request_number) if d.request_number else None)
            for d in dead_letters
        ),
        submissions_pending=submissions_pending,
    )
