"""Service levels: how fast the jurisdiction promises to acknowledge and resolve each category of request.

On the jurisdiction-configuration topic, keyed by the jurisdiction; one event holds the whole definition (the
time zone, the working week, the holidays, the targets per category) and the latest replaces every earlier one.
The clock that reads it is public-projections' `domain/sla.py` (docs/agents.md, "SLA").
"""

from __future__ import annotations

import datetime as dt
import enum
from itertools import pairwise
from typing import ClassVar

from pydantic import Field, model_validator

from civicloop_events.payloads.base import EventPayload, FrozenModel, registered
from civicloop_events.topic_roles import TopicRole

# A local wall time, "HH:MM"; "24:00" is the midnight that ends the day (so a span can run to the end of it).
WALL_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
# An IANA time zone name ("America/Chicago", "UTC"); whether the zone exists is checked where it is read.
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
# Five years, in minutes: a target longer than that is a mistake, not a promise.
LONGEST_TARGET_MINUTES = 5 * 366 * 24 * 60


class Weekday(str, enum.Enum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"


class SlaClock(str, enum.Enum):
    """Which hours a target counts."""

    business_hours = (
        "business_hours"  # only while the jurisdiction works: its opening hours, less its holidays
    )
    all_hours = "all_hours"  # around the clock, holidays included: for what cannot wait (a water main break)


class OpeningHours(FrozenModel):
    """One span of a weekday the jurisdiction works, in its local wall time; a day may have several spans."""

    day: Weekday
    opens: str = Field(pattern=WALL_TIME_PATTERN, description='"HH:MM", local wall time')
    closes: str = Field(pattern=WALL_TIME_PATTERN, description='"HH:MM" after `opens`; "24:00" is midnight')

    @model_validator(mode="after")
    def _closes_after_opening(self) -> OpeningHours:
        if self.closes <= self.opens:  # "HH:MM" strings sort as the times they name
            raise ValueError("closes must be after opens on the same day")
        return self


class Holiday(FrozenModel):
    """A whole local day the jurisdiction does not work: business-hours targets do not count it."""

    date: dt.date
    name: str = Field(min_length=1, max_length=120)


class SlaTargets(FrozenModel):
    """How long a request may wait: for its acknowledgement and for its resolution (none: no promise)."""

    acknowledge_within_minutes: int | None = Field(default=None, ge=1, le=LONGEST_TARGET_MINUTES)
    resolve_within_minutes: int | None = Field(default=None, ge=1, le=LONGEST_TARGET_MINUTES)
    clock: SlaClock = SlaClock.business_hours


class CategorySla(SlaTargets):
    """The targets of one category (an Open311 service code)."""

    service_code: str = Field(min_length=1, max_length=64)


@registered
class SlaDefined(EventPayload):
    """The jurisdiction's service levels, replaced as a whole: its business hours in its time zone, its holidays,
    the targets of each category (or the default for a category not listed), and when a request counts as at risk
    of missing a target or as dormant."""

    event_type: ClassVar[str] = "jurisdiction.sla.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    time_zone: str = Field(min_length=1, max_length=64, pattern=TIME_ZONE_PATTERN, description="IANA name")
    opening_hours: list[OpeningHours] = Field(
        min_length=1, description="the working week; spans may not overlap"
    )
    holidays: list[Holiday] = Field(default_factory=list)
    categories: list[CategorySla] = Field(default_factory=list, description="one entry per service code")
    default: SlaTargets | None = Field(
        default=None, description="for a category not listed; none: no targets"
    )
    at_risk_at: float = Field(
        default=0.75, gt=0, lt=1, description="the share of a target used up from which a request is at risk"
    )
    dormant_after_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="calendar days without activity after which an open request is dormant",
    )

    @model_validator(mode="after")
    def _spans_do_not_overlap(self) -> SlaDefined:
        for day in Weekday:
            spans = sorted((s.opens, s.closes) for s in self.opening_hours if s.day is day)
            if any(later_opens < closes for (_, closes), (later_opens, _) in pairwise(spans)):
                raise ValueError(f"opening hours overlap on {day.value}")
        return self

    @model_validator(mode="after")
    def _one_entry_per_category(self) -> SlaDefined:
        codes = [c.service_code for c in self.categories]
        if len(codes) != len(set(codes)):
            raise ValueError("a service code appears in more than one category entry")
        return self
