"""The demo jurisdiction's SLA (never in production): Los Angeles' time zone (the demo's requests are LA 311's),
weekdays 08:00-17:00, the 2026-2027 US federal holidays, and targets for the demo catalogue's categories. Seeded by
`civicloop-intake staff seed-demo`, so `make run` has one; a jurisdiction that has a definition keeps it."""

from __future__ import annotations

from typing import Any

from civicloop_events.payloads.service_levels import SlaDefined

from civicloop_intake.service_layer.sla_definitions import SlaAdmin

DEMO_TIME_ZONE = "America/Los_Angeles"
_HOLIDAYS = [
    ("2026-01-01", "New Year's Day"),
    ("2026-01-19", "Martin Luther King Jr. Day"),
    ("2026-02-16", "Presidents' Day"),
    ("2026-05-25", "Memorial Day"),
    ("2026-06-19", "Juneteenth"),
    ("2026-07-03", "Independence Day (observed)"),
    ("2026-09-07", "Labor Day"),
    ("2026-11-11", "Veterans Day"),
    ("2026-11-26", "Thanksgiving Day"),
    ("2026-12-25", "Christmas Day"),
    ("2027-01-01", "New Year's Day"),
    ("2027-01-18", "Martin Luther King Jr. Day"),
    ("2027-02-15", "Presidents' Day"),
    ("2027-05-31", "Memorial Day"),
    ("2027-06-18", "Juneteenth (observed)"),
    ("2027-07-05", "Independence Day (observed)"),
    ("2027-09-06", "Labor Day"),
    ("2027-11-11", "Veterans Day"),
    ("2027-11-25", "Thanksgiving Day"),
    ("2027-12-24", "Christmas Day (observed)"),
]
# Minutes of business time (9 a day), but what cannot wait: around the clock.
_CATEGORIES: list[dict[str, Any]] = [
    {"service_code": "graffiti", "acknowledge_within_minutes": 540, "resolve_within_minutes": 2700},
    {"service_code": "illegal-dumping", "acknowledge_within_minutes": 540, "resolve_within_minutes": 2700},
    {"service_code": "bulky-items", "acknowledge_within_minutes": 1080, "resolve_within_minutes": 4500},
    {"service_code": "pothole", "acknowledge_within_minutes": 540, "resolve_within_minutes": 4500},
    {"service_code": "streetlight", "acknowledge_within_minutes": 540, "resolve_within_minutes": 4500},
    {
        "service_code": "dead-animal",
        "acknowledge_within_minutes": 240,
        "resolve_within_minutes": 1440,
        "clock": "all_hours",
    },
]


def demo_sla(known_codes: set[str]) -> SlaDefined:
    """The demo definition, with targets for those of its categories the jurisdiction's catalogue defines (the
    others get the default)."""
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday")
    return SlaDefined.model_validate(
        {
            "time_zone": DEMO_TIME_ZONE,
            "opening_hours": [{"day": d, "opens": "08:00", "closes": "17:00"} for d in weekdays],
            "holidays": [{"date": d, "name": n} for d, n in _HOLIDAYS],
            "categories": [c for c in _CATEGORIES if c["service_code"] in known_codes],
            "default": {"acknowledge_within_minutes": 1080, "resolve_within_minutes": 9000},
            "at_risk_at": 0.75,
            "dormant_after_days": 14,
        }
    )


async def seed_demo_sla(sla: SlaAdmin, *, jurisdiction_id: str) -> bool:
    """Define the demo SLA unless the jurisdiction has one; True when this call published it."""
    if await sla.current(jurisdiction_id) is not None:
        return False
    known = set()
    for code in (c["service_code"] for c in _CATEGORIES):
        if await sla.catalogue.get(jurisdiction_id, code) is not None:
            known.add(code)
    return await sla.define(demo_sla(known), jurisdiction_id=jurisdiction_id, by=None) is not None
