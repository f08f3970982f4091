"""Staff working a request: who it is assigned to, the visits planned, its priority and category.

All on the request-events topic, keyed by the request number; the envelope's `actor` is the verified staff member.
Status changes (acknowledge, close with a reason, reopen) and comments are `request.status.changed` and
`request.comment.added` (`requests`). What a resident may be told is marked in each field's description: the
notifier reads these events, so each carries what a message needs without looking anything else up.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.payloads.bodies import Priority
from civicloop_events.topic_roles import TopicRole

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
MAX_VISIT_MINUTES = 24 * 60


@registered
class RequestAssigned(EventPayload):
    """The request was assigned to a team, a staff member, or both (internal: residents are not told who)."""

    event_type: ClassVar[str] = "request.assigned"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    team_id: str | None = Field(default=None, pattern=_ID, description="the team now responsible")
    staff_id: str | None = Field(default=None, pattern=_ID, description="the staff member now working it")
    previous_team_id: str | None = Field(default=None, pattern=_ID)
    previous_staff_id: str | None = Field(default=None, pattern=_ID)
    note: str = Field(default="", max_length=2000, description="for staff; never shown to residents")

    @model_validator(mode="after")
    def _assigns_someone(self) -> RequestAssigned:
        if self.team_id is None and self.staff_id is None:
            raise ValueError("an assignment names a team, a staff member or both")
        return self


@registered
class VisitScheduled(EventPayload):
    """A visit to the problem was planned: a resident may be told when and where."""

    event_type: ClassVar[str] = "request.visit.scheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    visit_id: str = Field(pattern=_ID, description="names the visit in later reschedules and cancellations")
    starts_at: AwareDatetime = Field(description="when the crew is expected (public)")
    duration_minutes: int = Field(
        ge=1, le=MAX_VISIT_MINUTES, description="how long the window lasts (public)"
    )
    address: str = Field(
        min_length=1,
        max_length=500,
        description="where, as the resident reads it, kept as it was when scheduled (public)",
    )
    public_note: str | None = Field(default=None, max_length=4000, description="for the resident")


@registered
class VisitRescheduled(EventPayload):
    """A planned visit moved: the new window (and the old start, so a message can say what changed)."""

    event_type: ClassVar[str] = "request.visit.rescheduled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    visit_id: str = Field(pattern=_ID)
    starts_at: AwareDatetime = Field(description="the new start (public)")
    duration_minutes: int = Field(ge=1, le=MAX_VISIT_MINUTES, description="the new window's length (public)")
    previous_starts_at: AwareDatetime = Field(description="the start it replaces (public)")
    address: str = Field(min_length=1, max_length=500, description="where, as the resident reads it (public)")
    public_note: str | None = Field(default=None, max_length=4000, description="for the resident")


@registered
class VisitCancelled(EventPayload):
    """A planned visit will not happen."""

    event_type: ClassVar[str] = "request.visit.cancelled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    visit_id: str = Field(pattern=_ID)
    starts_at: AwareDatetime = Field(description="the start that was planned (public)")
    public_note: str | None = Field(default=None, max_length=4000, description="for the resident")


@registered
class PriorityChanged(EventPayload):
    """Staff changed the request's priority (internal: queues and the SLA read it)."""

    event_type: ClassVar[str] = "request.priority.changed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    priority: Priority
    previous_priority: Priority | None = None
    note: str = Field(default="", max_length=2000, description="for staff; never shown to residents")


@registered
class CategoryChanged(EventPayload):
    """Staff moved the request to another category (service code): routing runs again on the new one."""

    event_type: ClassVar[str] = "request.category.changed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    service_code: str = Field(min_length=1, max_length=64, description="the new category (public)")
    previous_service_code: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000, description="for staff; never shown to residents")
    public_note: str | None = Field(default=None, max_length=4000, description="for the resident")
