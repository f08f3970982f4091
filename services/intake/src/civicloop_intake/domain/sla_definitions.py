"""The rules an SLA definition (`jurisdiction.sla.defined`) must pass before intake publishes it (no IO).

The contract already refuses what cannot be counted (overlapping spans, a week without hours, a category twice);
these are the checks that need to know the world: the time zone exists in the tz database, and every category is
one the jurisdiction's catalogue defines (active or withdrawn: a withdrawn category's open requests still count).
A definition equal to the one in force is not published again.
"""

from __future__ import annotations

import enum
import functools
import zoneinfo
from collections.abc import Collection

from civicloop_events.payloads.service_levels import SlaDefined

from civicloop_intake.domain.rejections import CommandRejected


class SlaProblem(str, enum.Enum):
    unknown_time_zone = "unknown_time_zone"
    unknown_category = "unknown_category"


class SlaDefinitionRejected(CommandRejected[SlaProblem]):
    """A definition refused by a rule; the problem names it (the HTTP answer's error code, 422)."""


@functools.cache
def _time_zones() -> frozenset[str]:
    # The tz database's names (the `tzdata` package where the system has none): read once per process.
    return frozenset(zoneinfo.available_timezones())


def known_time_zone(name: str) -> bool:
    return name in _time_zones()


def decide_definition(
    definition: SlaDefined, *, current: SlaDefined | None, known_codes: Collection[str]
) -> SlaDefined | None:
    """The definition to publish, None when it is the one in force already, or `SlaDefinitionRejected`."""
    if not known_time_zone(definition.time_zone):
        raise SlaDefinitionRejected(
            SlaProblem.unknown_time_zone, f"{definition.time_zone!r} is not a time zone of the tz database"
        )
    unknown = sorted({c.service_code for c in definition.categories} - set(known_codes))
    if unknown:
        raise SlaDefinitionRejected(
            SlaProblem.unknown_category, f"not categories of this jurisdiction: {', '.join(unknown)}"
        )
    return None if definition == current else definition
