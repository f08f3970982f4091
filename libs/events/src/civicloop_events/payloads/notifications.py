"""What the notifier told residents, and what residents answered.

All on the request-events topic, keyed by the request number, so agents and the dashboard see, in the request's own
history, every message sent or given up. No contact detail stands here, in clear or sealed: the resident is named by
their opaque `resident_id` alone, and the message by its kind, never its text.
"""

from __future__ import annotations

import enum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.payloads.requests import LANGUAGE_TAG_PATTERN
from civicloop_events.topic_roles import TopicRole

_PROVIDER = r"^[a-z][a-z0-9_.-]{0,39}$"


class NotificationChannel(str, enum.Enum):
    """A channel a message can travel on (a resident's `preferred_channel` minus `none`)."""

    sms = "sms"
    whatsapp = "whatsapp"
    email = "email"
    push = "push"


class MessageKind(str, enum.Enum):
    """Which message a resident was sent: the change in their request it tells them about."""

    received = "received"
    acknowledged = "acknowledged"
    status_changed = "status_changed"
    visit_scheduled = "visit_scheduled"
    visit_rescheduled = "visit_rescheduled"
    visit_cancelled = "visit_cancelled"
    closed = "closed"
    reopened = "reopened"
    merged = "merged"
    comment = "comment"
    backend_update = "backend_update"
    late = "late"  # CivicLoop owns up that the request is late (`request.declared_late`)


class NotificationOutcome(str, enum.Enum):
    """Why a message was given up on: the provider refused it for good, or every attempt failed."""

    refused = "refused"
    failed = "failed"
    no_channel = "no_channel"
    """no channel was left to try: none preferred, none reachable, or the resident opted out of every one"""


@registered
class NotificationSent(EventPayload):
    """A provider accepted a message for a resident of this request."""

    event_type: ClassVar[str] = "request.notification.sent"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    notification_id: UUID = Field(
        description="the notifier's message: one per (cause event, resident, channel)"
    )
    cause_event_id: UUID = Field(description="the event the resident was told about")
    resident_id: UUID = Field(
        description="the resident's opaque id (the sealed contact's owner), never a contact"
    )
    kind: MessageKind
    channel: NotificationChannel
    provider: str = Field(pattern=_PROVIDER, description="which provider took it, e.g. `twilio`, `smtp`")
    provider_message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the provider's id of the message (an SMS SID)",
    )
    language: str = Field(pattern=LANGUAGE_TAG_PATTERN, max_length=35)
    attempt: int = Field(ge=1, le=1000, description="which attempt was accepted (1 = the first)")


@registered
class NotificationFailed(EventPayload):
    """A message for a resident of this request was given up on, on one channel (a fallback may follow)."""

    event_type: ClassVar[str] = "request.notification.failed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    notification_id: UUID
    cause_event_id: UUID
    resident_id: UUID
    kind: MessageKind
    channel: NotificationChannel | None = Field(default=None, description="none: no channel was left to try")
    provider: str | None = Field(default=None, pattern=_PROVIDER)
    language: str = Field(pattern=LANGUAGE_TAG_PATTERN, max_length=35)
    attempt: int = Field(ge=0, le=1000, description="attempts made on this channel")
    outcome: NotificationOutcome
    error_code: str | None = Field(
        default=None,
        max_length=64,
        description="the provider's error code or the error's class; never a message text or a contact",
    )
    fallback_channel: NotificationChannel | None = Field(
        default=None, description="the channel the message goes on next, if any"
    )


@registered
class SurveyAnswered(EventPayload):
    """A resident answered the question sent when their request closed: was it fixed, and would they recommend us."""

    event_type: ClassVar[str] = "request.survey.answered"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    resident_id: UUID
    fixed: bool | None = Field(default=None, description="was it fixed? (none: not answered)")
    nps_score: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="how likely to recommend CivicLoop, 0 to 10 (Net Promoter Score)",
    )
    channel: NotificationChannel = Field(description="where the answer came from")
