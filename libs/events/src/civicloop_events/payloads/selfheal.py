"""Work that should have moved and did not, and what was done about it (docs/selfheal.md).

selfheal's sweep decides these from its own view of the log; other services carry them out: the notifier tells
supervisors, the assigned agent and the resident; outbound requeues a delivery and polls a back-end at once. Outbound
itself says when a back-end's polls keep failing and when they work again. Every payload names a reason from a
closed list and never carries free text a person typed.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.topic_roles import TopicRole


class StuckReason(str, enum.Enum):
    not_sent = "not_sent"  # not delivered to its body in time
    delivery_given_up = "delivery_given_up"  # its delivery was given up after every retry
    unacknowledged = "unacknowledged"  # past its category's time to acknowledge
    past_due = "past_due"  # past its category's time to resolve
    dormant = "dormant"  # nothing happened on it for the policy's number of days
    visit_passed = "visit_passed"  # a scheduled visit passed and nothing was said after it
    notification_failed = "notification_failed"  # the resident could not be told something
    dead_lettered = "dead_lettered"  # one of its events could not be processed by a service


# What a resident may be told is late about: their request's own clock, never the platform's machinery.
LATE_REASONS = frozenset(
    {StuckReason.unacknowledged, StuckReason.past_due, StuckReason.dormant, StuckReason.visit_passed}
)


@registered
class Escalated(EventPayload):
    """A stuck request was escalated to the supervisors of its team (of the jurisdiction, with no team)."""

    event_type: ClassVar[str] = "request.escalated"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    reason: StuckReason
    since: AwareDatetime = Field(
        description="when the request became stuck: the target, visit or failure it passed"
    )
    team_id: str | None = Field(
        default=None, max_length=64, description="whose supervisors are told (none: all)"
    )
    assignee: str | None = Field(default=None, max_length=64, description="the staff id assigned, if any")
    service_code: str | None = Field(default=None, max_length=64)


@registered
class AgentReminded(EventPayload):
    """The staff member assigned to a stuck request was reminded of it."""

    event_type: ClassVar[str] = "request.assignee.reminded"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    staff_id: str = Field(min_length=1, max_length=64)
    reason: StuckReason
    since: AwareDatetime


@registered
class LateDeclared(EventPayload):
    """CivicLoop owns up to the resident that their request is late; the notifier tells them on their channel."""

    event_type: ClassVar[str] = "request.declared_late"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    reason: StuckReason = Field(
        description="one of the late reasons (unacknowledged, past_due, dormant, visit_passed)"
    )
    since: AwareDatetime
    due_at: AwareDatetime | None = Field(default=None, description="the target it passed, when it was one")


@registered
class DeliveryRequeued(EventPayload):
    """A report its body never received goes back on the body's queue, with a fresh set of attempts."""

    event_type: ClassVar[str] = "request.delivery.requeued"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    body_id: str = Field(min_length=1, max_length=64)
    reason: StuckReason = Field(description="delivery_given_up or not_sent")
    attempts: int = Field(ge=0, description="attempts made before it was requeued")


@registered
class ClusterEscalated(EventPayload):
    """A hot spot nobody looked at was brought to the supervisors. Keyed by the jurisdiction, like the cluster."""

    event_type: ClassVar[str] = "cluster.escalated"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    cluster_id: str = Field(min_length=1, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    requests: int = Field(ge=2, description="members of the cluster")
    detected_at: AwareDatetime
    area_ids: list[str] = Field(default_factory=list)


@registered
class BodyPollFailing(EventPayload):
    """A back-end's polls have failed this many times in a row (said once per streak, by outbound)."""

    event_type: ClassVar[str] = "jurisdiction.body.poll_failing"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64)
    failing_since: AwareDatetime
    failures: int = Field(ge=1)
    error: str = Field(
        default="", max_length=200, description="the last error's kind, never a secret or a URL"
    )


@registered
class BodyPollRecovered(EventPayload):
    """A back-end whose polls were failing answered again (by outbound)."""

    event_type: ClassVar[str] = "jurisdiction.body.poll_recovered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64)
    failing_since: AwareDatetime
    failures: int = Field(ge=1)


@registered
class BodyPollNudged(EventPayload):
    """Poll this back-end now, past its back-off (selfheal, for a body whose polls keep failing)."""

    event_type: ClassVar[str] = "jurisdiction.body.poll_nudged"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    body_id: str = Field(min_length=1, max_length=64)
    failing_since: AwareDatetime
