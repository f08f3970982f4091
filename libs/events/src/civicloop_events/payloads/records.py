"""Public-records requests (MPIA / FOIA): that a request's history was exported, by whom, and how.

On the request-events topic, keyed by the request number, so each export stands in the request's own history. The
actor is the auditor (or the operator of the command line); the payload says what was exported and whether personal
data was shown, never the content.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from pydantic import Field

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.topic_roles import TopicRole


class ExportFormat(str, enum.Enum):
    json = "json"
    html = "html"
    pdf = "pdf"


@registered
class RecordsExported(EventPayload):
    """A request's complete history was exported for a public-records request."""

    event_type: ClassVar[str] = "request.records.exported"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.request_events

    export_format: ExportFormat = Field(description="the document given")
    redacted: bool = Field(description="personal data redacted (false: an auditor asked for it unsealed)")
    events: int = Field(ge=0, description="how many events of the request's history the export holds")
    through_offset: int | None = Field(
        default=None, ge=0, description="the offset of the last event exported (none: the history was empty)"
    )
    reason: str | None = Field(
        default=None,
        max_length=200,
        description="the records request it answers (a reference, never personal data)",
    )
